/** Operations on Redis that act on jobs from outside a lease: cancel, retry, retention sweeps, schedule ticks. */
import { errors } from '../../../errors.js';
import type { JobRecord, RetentionPolicy } from '../backend.js';
import type { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';
import { rawToJob, type JobData } from './redis-job-mapping.js';
import type { RedisReads } from './redis-reads.js';

export class RedisAdmin {
  constructor(private readonly conn: RedisConnection, private readonly reads: RedisReads) {}

  async cancel(id: string): Promise<JobRecord> {
    const pipeline = RedisKeys.pipelineOf(id);
    if (!pipeline) throw errors.JOB_NOT_FOUND(`job ${id} not found`);
    const { keys } = this.conn;
    const k = (s: string) => keys.queueKey(pipeline, s);
    const code = await this.conn.client.forjaCancel(keys.job(id), k('active'), k('wait'), k('prioritized'), k('delayed'), k('paused'),
      k('failed'), k('completed'), keys.cancelledSet(pipeline), id, String(Date.now()));
    if (code === -1) throw errors.JOB_NOT_FOUND(`job ${id} not found`);
    const job = (await this.reads.get(id))!;
    if (code < 0) throw errors.JOB_STATE_CONFLICT(`job ${id} is ${job.state}; only queued or running jobs can be cancelled`);
    return job;
  }

  async retry(id: string): Promise<JobRecord> {
    const pipeline = RedisKeys.pipelineOf(id);
    if (!pipeline) throw errors.JOB_NOT_FOUND(`job ${id} not found`);
    const { keys } = this.conn;
    const k = (s: string) => keys.queueKey(pipeline, s);
    const code = await this.conn.client.forjaRetry(keys.job(id), k('failed'), k('wait'), k('paused'), k('meta'), k('active'), k('marker'),
      k('events'), keys.steps(id), keys.cancelledSet(pipeline), id, this.conn.writeDeadline());
    if (code === -3) throw this.conn.lateWriteError();
    if (Array.isArray(code)) {
      const raw: Record<string, string> = {};
      for (let i = 0; i < code.length; i += 2) raw[code[i]] = code[i + 1];
      this.conn.enqueued.emit(pipeline);
      return rawToJob(id, pipeline, raw, 'waiting')!;
    }
    const job = await this.reads.get(id);
    if (code === -1 || !job) throw errors.JOB_NOT_FOUND(`job ${id} not found`);
    throw errors.JOB_STATE_CONFLICT(`job ${id} is ${job.state}; only failed or cancelled jobs can be retried`);
  }

  async claimScheduleTick(key: string, tickAt: number): Promise<boolean> {
    return (await this.conn.client.forjaTick(this.conn.keys.scheduleTick(key), String(tickAt))) === 1;
  }

  async sweep(pipeline: string, policy: RetentionPolicy, now = Date.now()): Promise<number> {
    const { client, keys } = this.conn;
    const finished: [string, number][] = [];
    for (const set of ['completed', 'failed']) {
      const raw = await client.zrange(keys.queueKey(pipeline, set), 0, -1, 'WITHSCORES');
      for (let i = 0; i < raw.length; i += 2) finished.push([raw[i], Number(raw[i + 1])]);
    }
    finished.sort((a, b) => b[1] - a[1]);
    const doomed = finished.filter(([, at], i) => i >= policy.maxCount || at < now - policy.maxAgeMs).slice(0, 1000).map(([id]) => id);
    const queue = this.conn.queue(pipeline);
    await Promise.all(doomed.map(async (id) => {
      const data = await client.hget(keys.job(id), 'data');
      const key = data ? (JSON.parse(data) as JobData).k : undefined;
      await queue.remove(id);
      const multi = client.multi()
        .del(keys.steps(id), keys.stepOrder(id), keys.logs(id))
        .zrem(keys.index(), id).zrem(keys.pipelineIndex(pipeline), id)
        .srem(keys.cancelledSet(pipeline), id);
      if (key !== undefined) multi.del(keys.idempotency(pipeline, key));
      await multi.exec();
    }));
    return doomed.length;
  }
}
