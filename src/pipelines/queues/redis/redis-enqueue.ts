/**
 * Adding jobs on Redis: each job is one call of the forjaEnqueue script, so the idempotency check,
 * the BullMQ job and Forja's list index are written together or not at all (two submissions with one
 * key yield one job, on any number of connections).
 */
import type { EnqueueRequest, JobRecord } from '../backend.js';
import type { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';
import type { JobData } from './redis-job-mapping.js';
import type { RedisReads } from './redis-reads.js';

const DEFAULT_MAX_DELIVERIES = 10;

export class RedisEnqueue {
  constructor(private readonly conn: RedisConnection, private readonly reads: RedisReads) {}

  async enqueue(req: EnqueueRequest): Promise<{ job: JobRecord; created: boolean }> {
    const now = Date.now();
    const args = this.scriptArgs(req, now, this.conn.writeDeadline());
    let [created, id] = await this.conn.client.forjaEnqueue(...args);
    if (created === -1) throw this.conn.lateWriteError();
    // The key's job may be swept between the script and the read; then the key is free again.
    for (let tries = 0; created === 0 && tries < 3; tries++) {
      const existing = await this.reads.get(id);
      if (existing) return { job: existing, created: false };
      [created, id] = await this.conn.client.forjaEnqueue(...this.scriptArgs(req, now, this.conn.writeDeadline()));
      if (created === -1) throw this.conn.lateWriteError();
    }
    if (created === 0) throw new Error(`job ${id} for idempotency key ${req.idempotencyKey} vanished while it was read`);
    this.conn.enqueued.emit(req.pipeline);
    const job: JobRecord = {
      id, pipeline: req.pipeline, state: 'queued', input: req.input ?? null, priority: req.priority ?? 0, attempts: 0,
      maxDeliveries: req.maxDeliveries ?? DEFAULT_MAX_DELIVERIES, createdAt: now, runAt: now + (req.delayMs ?? 0), cancelRequested: false,
    };
    if (req.idempotencyKey !== undefined) job.idempotencyKey = req.idempotencyKey;
    return { job, created: true };
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
    const data: JobData = { i: req.input ?? null, m: req.maxDeliveries ?? DEFAULT_MAX_DELIVERIES };
    if (req.idempotencyKey !== undefined) data.k = req.idempotencyKey;
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
      keys.sequence(), keys.index(), keys.pipelineIndex(req.pipeline),
      id, req.pipeline, JSON.stringify(data), JSON.stringify(opts), String(now), String(delay), String(priority), hasKey ? '1' : '0', q(''), deadline,
    ];
  }
}
