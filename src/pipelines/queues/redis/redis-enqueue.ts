/**
 * Adding jobs on Redis: each job is one call of the forjaEnqueue script, so the idempotency check,
 * the BullMQ job and Forja's list index are written together or not at all (two submissions with one
 * key yield one job, on any number of connections). A key already used answers with its job as the
 * script read it, in the same round trip.
 */
import type { EnqueueRequest, JobRecord } from '../backend.js';
import { DEFAULT_MAX_DELIVERIES, inputText, queuedJob } from '../queued-job.js';
import type { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';
import { jobDataText, rawToJob } from './redis-job-mapping.js';

export class RedisEnqueue {
  constructor(private readonly conn: RedisConnection) {}

  async enqueue(req: EnqueueRequest): Promise<{ job: JobRecord; created: boolean }> {
    const now = Date.now();
    // The key's job may be swept between its use and this call's read; then the key is free again.
    for (let tries = 0; tries < 3; tries++) {
      const [code, id, state, ...fields] = await this.conn.client.forjaEnqueue(...this.scriptArgs(req, now, this.conn.writeDeadline()));
      if (code === -1) throw this.conn.lateWriteError();
      if (code === 1) {
        this.conn.enqueued.emit(req.pipeline);
        return { job: queuedJob(id, req, now), created: true };
      }
      const raw: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) raw[fields[i]] = fields[i + 1];
      const existing = rawToJob(id, req.pipeline, raw, state);
      if (existing) return { job: existing, created: false };
    }
    throw new Error(`the job holding idempotency key ${req.idempotencyKey} vanished while it was read`);
  }

  /** All requests in one round trip (a pipeline of script calls), without a deadline: a bulk load is not a request someone waits on. */
  async enqueueMany(requests: EnqueueRequest[]): Promise<void> {
    if (requests.length === 0) return;
    const now = Date.now();
    const batch = this.conn.client.pipeline();
    for (const req of requests) (batch as unknown as { forjaEnqueue(...a: string[]): void }).forjaEnqueue(...this.scriptArgs(req, now, '0'));
    const results = await batch.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
    for (const pipeline of new Set(requests.map((r) => r.pipeline))) this.conn.enqueued.emit(pipeline);
  }

  private scriptArgs(req: EnqueueRequest, now: number, deadline: string): string[] {
    const { keys } = this.conn;
    const q = (suffix: string) => keys.queueKey(req.pipeline, suffix);
    const id = RedisKeys.jobId(req.pipeline, req.id);
    const priority = req.priority || 0;
    const delay = req.delayMs || 0;
    // The options BullMQ's Queue.add would store for this job (Job.fromJSON reads them back).
    const opts: Record<string, unknown> = { jobId: id, timestamp: now, attempts: 0 };
    if (priority) opts.priority = priority;
    if (delay) opts.delay = delay;
    const hasKey = req.idempotencyKey !== undefined;
    return [
      keys.job(id), q('wait'), q('paused'), q('meta'), q('active'), q('prioritized'), q('pc'), q('delayed'), q('marker'), q('events'),
      hasKey ? keys.idempotency(req.pipeline, req.idempotencyKey!) : keys.idempotency(req.pipeline, ''),
      keys.sequence(), keys.index(), keys.pipelineIndex(req.pipeline), q('completed'), q('failed'),
      id, req.pipeline, jobDataText(inputText(req), req.maxDeliveries ?? DEFAULT_MAX_DELIVERIES, req.idempotencyKey), JSON.stringify(opts), String(now),
      String(delay), String(priority), hasKey ? '1' : '0', q(''), deadline,
    ];
  }
}
