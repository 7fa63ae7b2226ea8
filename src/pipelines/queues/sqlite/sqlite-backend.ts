/**
 * The embedded queue: one SQLite file (WAL) in the data directory, no other service. Claims are
 * batched (one transaction leases up to every free slot) and completions are batched (finished jobs
 * collected during one event-loop turn are written in one transaction), which is what makes
 * no-op throughput several times one-transaction-per-job. Workers in this process are woken by an
 * event when a job is enqueued here; workers in other processes poll.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { errors } from '../../../errors.js';
import {
  LOG_TRUNCATED_MESSAGE, MAX_LOG_LINES, MAX_LOG_PAGE, type EnqueueRequest, type JobCounts, type JobError, type JobPage, type JobRecord, type Lease, type LeasedJob,
  type LeaseStatus, type ListFilter, type LogEntry, type QueueBackend, type RetentionPolicy, type StepRecord,
} from '../backend.js';
import { EnqueuedSignal } from '../enqueued-signal.js';
import { migrate } from './migrations.js';
import { toStorageError } from './sqlite-errors.js';
import { storageFull } from '../storage-failure.js';
import { JobOperations } from './job-operations.js';
import { queuedJob } from '../queued-job.js';
import { parseJson, rowToJob, rowToStep, type StepRow } from './job-rows.js';

type Finish = { lease: Lease; kind: 'complete' | 'fail' | 'cancel'; value?: unknown; resolve: (ok: boolean) => void; reject: (e: unknown) => void };

/** Less free space than this on the data directory's disk: the readiness probe reports it full. */
const MIN_FREE_BYTES = 1024 * 1024;

export interface SqliteBackendOptions {
  /** The database file; its directory is created. */
  file: string;
}

export class SqliteBackend implements QueueBackend {
  readonly kind = 'sqlite' as const;
  private readonly enqueued = new EnqueuedSignal();
  private db!: Database.Database;
  private ops!: JobOperations;
  private concurrency = new Map<string, number | undefined>();
  private pending: Finish[] = [];
  private flushScheduled = false;
  private lastReclaim = 0;

  constructor(private readonly options: SqliteBackendOptions) {}

  /** The file answers, and its disk has room for more than a few pages (a full disk shows before a write fails). */
  async ping(): Promise<void> {
    return this.guard(() => {
      this.db.prepare('SELECT 1').get();
      const { bavail, bsize } = fs.statfsSync(path.dirname(this.options.file));
      if (bavail * bsize < MIN_FREE_BYTES) throw storageFull(`the disk of the job store (${this.options.file}) is full (${bavail * bsize} bytes free); free space there`);
    });
  }

  onEnqueued(listener: (pipeline: string) => void): () => void {
    return this.enqueued.on(listener);
  }

  async init(pipelines: { name: string; concurrency?: number }[]): Promise<void> {
    return this.guard(() => {
      for (const p of pipelines) this.concurrency.set(p.name, p.concurrency);
      if (this.db) return;
      fs.mkdirSync(path.dirname(this.options.file), { recursive: true });
      this.db = new Database(this.options.file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      migrate(this.db);
      this.ops = new JobOperations(this.db);
    });
  }

  async close(): Promise<void> {
    if (!this.db) return;
    this.flush();
    this.db.close();
  }

  async enqueue(request: EnqueueRequest): Promise<{ job: JobRecord; created: boolean }> {
    return this.guard(() => {
      const now = Date.now();
      // Another process may sweep the job in the way between the insert and the read: then the key is free again.
      for (let tries = 0; tries < 3; tries++) {
        if (this.ops.insertJob(request, now)) {
          this.enqueued.emit(request.pipeline);
          return { job: queuedJob(request.id, request, now), created: true };
        }
        const row = this.ops.conflictingJob(request);
        if (row) return { job: rowToJob(row), created: false };
      }
      throw new Error(`the job holding idempotency key ${request.idempotencyKey} vanished while it was read`);
    });
  }

  /** Many jobs in one transaction. */
  async enqueueMany(requests: EnqueueRequest[]): Promise<void> {
    return this.guard(() => {
      const now = Date.now();
      this.db.transaction(() => { for (const r of requests) this.ops.insertJob(r, now); }).immediate();
      for (const p of new Set(requests.map((r) => r.pipeline))) this.enqueued.emit(p);
    });
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.guard(() => {
      const row = this.ops.jobById(id);
      return row && rowToJob(row);
    });
  }

  async list(filter: ListFilter): Promise<JobPage> {
    return this.guard(() => {
      const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
      const before = filter.cursor ? Number(filter.cursor) : undefined;
      if (before !== undefined && !Number.isInteger(before)) throw errors.REQUEST_INVALID('invalid cursor');
      const rows = this.ops.listRows({ pipeline: filter.pipeline, state: filter.state, limit: limit + 1, before });
      const page: JobPage = { jobs: rows.slice(0, limit).map(rowToJob) };
      if (rows.length > limit) page.nextCursor = String(rows[limit - 1].rid);
      return page;
    });
  }

  async steps(id: string): Promise<StepRecord[]> {
    return this.guard(() => {
      return (this.ops.stepRows(id) as StepRow[]).map(rowToStep);
    });
  }

  async logs(id: string, afterSeq = 0, limit = MAX_LOG_PAGE): Promise<LogEntry[]> {
    return this.guard(() => {
      return this.ops.logRows(id, afterSeq, Math.min(Math.max(1, limit), MAX_LOG_PAGE)).map((r) => {
        const entry: LogEntry = { seq: r.seq, at: r.at, message: r.message, data: parseJson(r.data) };
        if (r.truncated === 1) entry.truncated = true;
        return entry;
      });
    });
  }

  async counts(): Promise<JobCounts> {
    return this.guard(() => {
      return this.ops.stateCounts(Date.now());
    });
  }

  async claim(workerId: string, slots: Map<string, number>, leaseMs: number, max: number): Promise<LeasedJob[]> {
    return this.guard(() => {
      // The outcomes finished so far are written in the claim's own transaction, before it counts
      // running jobs: one commit per cycle of a busy worker instead of two.
      const finished = this.takePending();
      const now = Date.now();
      let stored: boolean[] = [];
      let claimed: LeasedJob[];
      try {
        claimed = this.db.transaction(() => {
          stored = this.writeFinishes(finished, now);
          // Expired leases are looked for a few times per lease period, not on every claim.
          if (now - this.lastReclaim >= Math.min(leaseMs / 4, 1000)) {
            this.lastReclaim = now;
            this.ops.reclaimExpired(now);
          }
          const out: LeasedJob[] = [];
          for (const [pipeline, n] of slots) {
            const want = Math.min(n, max - out.length);
            if (want > 0) out.push(...this.ops.claimDue(workerId, pipeline, want, this.concurrency.get(pipeline), leaseMs, now));
          }
          return out;
        }).immediate();
      } catch (err) {
        for (const f of finished) f.reject(toStorageError(err, this.options.file));
        throw err;
      }
      finished.forEach((f, i) => f.resolve(stored[i]));
      return claimed;
    });
  }

  async reclaimLeases(pipelines: string[], isDead: (owner: string) => boolean): Promise<number> {
    return this.guard(() => {
      this.flush();
      const now = Date.now();
      return this.db.transaction(() => {
        const n = this.ops.expireDeadOwners(new Set(pipelines), isDead);
        if (n > 0) this.ops.reclaimExpired(now + 1);
        return n;
      }).immediate();
    });
  }

  async heartbeat(leases: Lease[], leaseMs: number): Promise<LeaseStatus[]> {
    return this.guard(() => {
      const expiresAt = Date.now() + leaseMs;
      return this.db.transaction(() => leases.map((l): LeaseStatus => {
        const cancel = this.ops.extendLease(l, expiresAt);
        return cancel === undefined ? 'lost' : cancel === 1 ? 'cancel' : 'ok';
      })).immediate();
    });
  }

  complete(lease: Lease, result: unknown): Promise<boolean> {
    return this.queueFinish(lease, 'complete', result);
  }

  fail(lease: Lease, error: JobError): Promise<boolean> {
    return this.queueFinish(lease, 'fail', error);
  }

  markCancelled(lease: Lease): Promise<boolean> {
    return this.queueFinish(lease, 'cancel');
  }

  async release(lease: Lease): Promise<boolean> {
    return this.guard(() => {
      this.flush();
      const ok = this.ops.releaseJob(lease);
      if (ok) this.enqueued.emit(lease.pipeline);
      return ok;
    });
  }

  async saveStep(lease: Lease, step: StepRecord): Promise<boolean> {
    return this.guard(() => {
      return this.fenced(lease, () => this.ops.upsertStep(lease, step));
    });
  }

  async saveCheckpoint(lease: Lease, stepName: string, checkpoint: unknown): Promise<boolean> {
    return this.guard(() => {
      return this.fenced(lease, () => this.ops.storeCheckpoint(lease, stepName, checkpoint));
    });
  }

  async setProgress(lease: Lease, progress: number, message?: string): Promise<boolean> {
    return this.guard(() => {
      return this.ops.setProgress(lease, progress, message);
    });
  }

  async appendLog(lease: Lease, message: string, data?: unknown): Promise<boolean> {
    return this.guard(() => {
      return this.fenced(lease, () => this.ops.appendLog(lease.jobId, Date.now(), message, data, MAX_LOG_LINES, LOG_TRUNCATED_MESSAGE));
    });
  }

  async cancel(id: string): Promise<JobRecord> {
    return this.guard(() => {
      this.flush();
      const now = Date.now();
      this.db.transaction(() => {
        if (this.ops.cancelQueued(id, now) || this.ops.requestCancel(id)) return;
        const row = this.ops.jobById(id);
        if (!row) throw errors.JOB_NOT_FOUND(`job ${id} not found`);
        throw errors.JOB_STATE_CONFLICT(`job ${id} is ${row.state}; only queued or running jobs can be cancelled`);
      }).immediate();
      return rowToJob(this.ops.jobById(id)!);
    });
  }

  async retry(id: string): Promise<JobRecord> {
    return this.guard(() => {
      this.flush();
      const row = this.db.transaction(() => {
        if (!this.ops.requeueFinished(id, Date.now())) {
          const current = this.ops.jobById(id);
          if (!current) throw errors.JOB_NOT_FOUND(`job ${id} not found`);
          throw errors.JOB_STATE_CONFLICT(`job ${id} is ${current.state}; only failed or cancelled jobs can be retried`);
        }
        return this.ops.jobById(id)!;
      }).immediate();
      this.enqueued.emit(row.pipeline);
      return rowToJob(row);
    });
  }

  async claimScheduleTick(key: string, tickAt: number): Promise<boolean> {
    return this.guard(() => {
      return this.ops.claimTick(key, tickAt);
    });
  }

  async sweep(pipeline: string, policy: RetentionPolicy, now = Date.now()): Promise<number> {
    return this.guard(() => {
      this.flush();
      return this.db.transaction(() => this.ops.sweepPipeline(pipeline, policy, now)).immediate();
    });
  }

  /** Runs a storage call; a full disk or an unusable file becomes STORAGE_FULL / QUEUE_UNAVAILABLE (sqlite-errors.ts). */
  private guard<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      throw toStorageError(err, this.options.file);
    }
  }

  /** A write that only happens while the lease is held, checked in the same transaction. */
  private fenced(lease: Lease, write: () => void): boolean {
    return this.db.transaction(() => {
      if (!this.ops.holdsLease(lease)) return false;
      write();
      return true;
    }).immediate();
  }

  private queueFinish(lease: Lease, kind: Finish['kind'], value?: unknown): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ lease, kind, value, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private takePending(): Finish[] {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    return batch;
  }

  /** The outcomes' writes, inside the caller's transaction; whether each lease still held. */
  private writeFinishes(batch: Finish[], now: number): boolean[] {
    return batch.map((f) =>
      f.kind === 'complete' ? this.ops.completeJob(f.lease, f.value, now)
        : f.kind === 'fail' ? this.ops.failJob(f.lease, f.value as JobError, now)
          : this.ops.acknowledgeCancel(f.lease, now));
  }

  /** Writes every finished job collected so far in one transaction. */
  private flush(): void {
    if (this.pending.length === 0 || !this.db?.open) {
      this.flushScheduled = false;
      return;
    }
    const batch = this.takePending();
    const now = Date.now();
    try {
      const results = this.db.transaction(() => this.writeFinishes(batch, now)).immediate();
      batch.forEach((f, i) => f.resolve(results[i]));
    } catch (err) {
      for (const f of batch) f.reject(toStorageError(err, this.options.file));
    }
  }
}
