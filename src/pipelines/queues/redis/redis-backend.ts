/**
 * The Redis backend for many machines: one BullMQ queue per pipeline does the queueing (priorities,
 * delays, global concurrency, locks, stalled-job recovery); Forja keeps steps, checkpoints, logs,
 * cancellation and its list index in its own keys, written by the scripts in redis-scripts.ts.
 * BullMQ's lock token is the fencing token. Jobs are claimed with BullMQ's manual-processing API
 * (Worker.getNextJob), so Forja's worker drives both backends the same way.
 *
 * The work is split by concept: redis-enqueue.ts adds jobs, redis-reads.ts reads them,
 * redis-leases.ts is everything a worker does under a lease, redis-admin.ts cancels, retries and
 * sweeps; this class wires them to the QueueBackend interface.
 *
 * State mapping: wait/prioritized/delayed → queued; active → running; completed → succeeded;
 * failed → failed, or cancelled when marked so (`fstate`). Deliveries = BullMQ's attemptsStarted
 * (the current run's, checked against max deliveries) plus `fats` (the runs' before the latest retry).
 */
import type { Logger } from 'pino';
import type {
  EnqueueRequest, JobCounts, JobError, JobPage, JobRecord, Lease, LeasedJob, LeaseStatus, ListFilter, LogEntry, QueueBackend,
  RetentionPolicy, StepRecord,
} from '../backend.js';
import { RedisAdmin } from './redis-admin.js';
import { RedisConnection } from './redis-connection.js';
import { toQueueError } from './redis-errors.js';
import { RedisEnqueue } from './redis-enqueue.js';
import type { RedisKeys } from './redis-keys.js';
import { RedisLeases } from './redis-leases.js';
import { RedisReads } from './redis-reads.js';

export interface RedisBackendOptions {
  url: string;
  prefix?: string;
  logger?: Logger;
  /** How long a request-side command may take before the caller gets QUEUE_UNAVAILABLE. Default 3000 ms. */
  commandTimeoutMs?: number;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 3000;

export class RedisBackend implements QueueBackend {
  readonly kind = 'redis' as const;
  private readonly conn: RedisConnection;
  private readonly reads: RedisReads;
  private readonly adds: RedisEnqueue;
  private readonly leases: RedisLeases;
  private readonly admin: RedisAdmin;

  constructor(options: RedisBackendOptions) {
    this.conn = new RedisConnection(options.url, options.prefix ?? 'forja', options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, options.logger);
    this.reads = new RedisReads(this.conn);
    this.adds = new RedisEnqueue(this.conn);
    this.leases = new RedisLeases(this.conn);
    this.admin = new RedisAdmin(this.conn, this.reads);
  }

  get keys(): RedisKeys {
    return this.conn.keys;
  }

  async init(pipelines: { name: string; concurrency?: number }[]): Promise<void> {
    await this.guard(async () => {
      await this.conn.connect();
      for (const p of pipelines) {
        const queue = this.conn.queue(p.name);
        if (p.concurrency !== undefined) await queue.setGlobalConcurrency(p.concurrency);
        else await queue.removeGlobalConcurrency();
      }
    });
  }

  async close(): Promise<void> {
    await this.leases.releasePrefetched();
    await this.conn.close();
  }

  onEnqueued(listener: (pipeline: string) => void): () => void { return this.conn.enqueued.on(listener); }

  // Request side: outages become QUEUE_UNAVAILABLE / STORAGE_FULL (redis-errors.ts).
  async ping(): Promise<void> { await this.guard(() => this.conn.client.ping()); }
  enqueue(request: EnqueueRequest): Promise<{ job: JobRecord; created: boolean }> { return this.guard(() => this.adds.enqueue(request)); }
  enqueueMany(requests: EnqueueRequest[]): Promise<void> { return this.guard(() => this.adds.enqueueMany(requests)); }
  get(id: string): Promise<JobRecord | undefined> { return this.guard(() => this.reads.get(id)); }
  list(filter: ListFilter): Promise<JobPage> { return this.guard(() => this.reads.list(filter)); }
  steps(id: string): Promise<StepRecord[]> { return this.guard(() => this.reads.steps(id)); }
  logs(id: string, afterSeq?: number, limit?: number): Promise<LogEntry[]> { return this.guard(() => this.reads.logs(id, afterSeq, limit)); }
  counts(): Promise<JobCounts> { return this.guard(() => this.reads.counts()); }
  cancel(id: string): Promise<JobRecord> { return this.guard(() => this.admin.cancel(id)); }
  retry(id: string): Promise<JobRecord> { return this.guard(() => this.admin.retry(id)); }
  claimScheduleTick(key: string, tickAt: number): Promise<boolean> { return this.guard(() => this.admin.claimScheduleTick(key, tickAt)); }
  sweep(pipeline: string, policy: RetentionPolicy, now?: number): Promise<number> { return this.guard(() => this.admin.sweep(pipeline, policy, now)); }

  // Lease side: waits through outages on its own client; a Redis out of memory is STORAGE_FULL here too.
  claim(workerId: string, slots: Map<string, number>, leaseMs: number, max: number): Promise<LeasedJob[]> {
    return this.guard(() => this.leases.claim(workerId, slots, leaseMs, max));
  }
  reclaimLeases(pipelines: string[], isDead: (owner: string) => boolean): Promise<number> { return this.guard(() => this.leases.reclaim(pipelines, isDead)); }
  heartbeat(leases: Lease[], leaseMs: number): Promise<LeaseStatus[]> { return this.guard(() => this.leases.heartbeat(leases, leaseMs)); }
  complete(lease: Lease, result: unknown): Promise<boolean> { return this.guard(() => this.leases.complete(lease, result)); }
  fail(lease: Lease, error: JobError): Promise<boolean> { return this.guard(() => this.leases.fail(lease, error)); }
  markCancelled(lease: Lease): Promise<boolean> { return this.guard(() => this.leases.markCancelled(lease)); }
  release(lease: Lease): Promise<boolean> { return this.guard(() => this.leases.release(lease)); }
  saveStep(lease: Lease, step: StepRecord): Promise<boolean> { return this.guard(() => this.leases.saveStep(lease, step)); }
  saveCheckpoint(lease: Lease, stepName: string, checkpoint: unknown): Promise<boolean> {
    return this.guard(() => this.leases.saveCheckpoint(lease, stepName, checkpoint));
  }
  setProgress(lease: Lease, progress: number, message?: string): Promise<boolean> { return this.guard(() => this.leases.setProgress(lease, progress, message)); }
  appendLog(lease: Lease, message: string, data?: unknown): Promise<boolean> { return this.guard(() => this.leases.appendLog(lease, message, data)); }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw toQueueError(err, this.conn.address, this.conn.commandTimeoutMs);
    }
  }
}
