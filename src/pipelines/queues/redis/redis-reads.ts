/** Reading jobs on Redis: one job, pages of the list index, steps, logs and the counts per state. */
import { errors } from '../../../errors.js';
import { COUNTED_STATES, MAX_LOG_PAGE, type JobCounts, type JobPage, type JobRecord, type ListFilter, type LogEntry, type StepRecord } from '../backend.js';
import type { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';
import { rawToJob } from './redis-job-mapping.js';

export class RedisReads {
  constructor(private readonly conn: RedisConnection) {}

  async get(id: string): Promise<JobRecord | undefined> {
    const pipeline = RedisKeys.pipelineOf(id);
    if (!pipeline) return undefined;
    const [raw, state] = await Promise.all([this.conn.client.hgetall(this.conn.keys.job(id)), this.conn.queue(pipeline).getJobState(id)]);
    return rawToJob(id, pipeline, raw, state);
  }

  async list(filter: ListFilter): Promise<JobPage> {
    const { client, keys } = this.conn;
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
    const key = filter.pipeline ? keys.pipelineIndex(filter.pipeline) : keys.index();
    let max = filter.cursor ? `(${Number(filter.cursor)}` : '+inf';
    if (filter.cursor && !Number.isInteger(Number(filter.cursor))) throw errors.REQUEST_INVALID('invalid cursor');
    const jobs: JobRecord[] = [];
    let scanned = 0;
    let lastScore: string | undefined;
    while (jobs.length < limit && scanned < 5000) {
      const batch = await client.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', 0, Math.max(limit * 2, 100));
      if (batch.length === 0) return { jobs };
      const ids: string[] = [];
      const scores: string[] = [];
      for (let i = 0; i < batch.length; i += 2) { ids.push(batch[i]); scores.push(batch[i + 1]); }
      const records = await Promise.all(ids.map((id) => this.get(id)));
      for (let i = 0; i < ids.length; i++) {
        scanned++;
        lastScore = scores[i];
        const r = records[i];
        if (r && (!filter.state || r.state === filter.state)) jobs.push(r);
        if (jobs.length === limit) break;
      }
      max = `(${lastScore}`;
    }
    const more = await client.zrevrangebyscore(key, max, '-inf', 'LIMIT', 0, 1);
    return more.length > 0 ? { jobs, nextCursor: lastScore } : { jobs };
  }

  async steps(id: string): Promise<StepRecord[]> {
    const { client, keys } = this.conn;
    const [order, fields] = await Promise.all([client.lrange(keys.stepOrder(id), 0, -1), client.hgetall(keys.steps(id))]);
    return order.filter((name) => fields[`m:${name}`] !== undefined).map((name) => {
      const step = { name, ...JSON.parse(fields[`m:${name}`]) } as StepRecord;
      if (fields[`r:${name}`] !== undefined) step.result = JSON.parse(fields[`r:${name}`]);
      if (fields[`c:${name}`] !== undefined) step.checkpoint = JSON.parse(fields[`c:${name}`]);
      return step;
    });
  }

  /** Line n of a job's log (seq n) sits at list index n - 1, so a page is one LRANGE. */
  async logs(id: string, afterSeq = 0, limit = MAX_LOG_PAGE): Promise<LogEntry[]> {
    const n = Math.min(Math.max(1, limit), MAX_LOG_PAGE);
    const raw = await this.conn.client.lrange(this.conn.keys.logs(id), afterSeq, afterSeq + n - 1);
    return raw.map((line) => {
      const bar = line.indexOf('|');
      const entry = JSON.parse(line.slice(bar + 1)) as Omit<LogEntry, 'seq'>;
      return { seq: Number(line.slice(0, bar)), ...entry };
    });
  }

  async counts(): Promise<JobCounts> {
    const out = Object.fromEntries(COUNTED_STATES.map((s) => [s, 0])) as JobCounts;
    for (const name of this.conn.pipelines()) {
      const [c, cancelled] = await Promise.all([
        this.conn.queue(name).getJobCounts('waiting', 'prioritized', 'delayed', 'paused', 'active', 'completed', 'failed'),
        this.conn.client.scard(this.conn.keys.cancelledSet(name)),
      ]);
      out.queued += (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.paused ?? 0);
      out.delayed += c.delayed ?? 0;
      out.running += c.active ?? 0;
      out.succeeded += c.completed ?? 0;
      out.failed += (c.failed ?? 0) - cancelled;
      out.cancelled += cancelled;
    }
    return out;
  }
}
