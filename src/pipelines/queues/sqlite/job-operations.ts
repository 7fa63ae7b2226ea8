/**
 * The embedded queue's storage operations, one named method per statement or transaction.
 * All run synchronously on one better-sqlite3 connection; several processes may share the file
 * (WAL, busy timeout), and each state transition is one statement or one IMMEDIATE transaction.
 * Writes on behalf of a worker are fenced: `WHERE id = ? AND lease_token = ? AND state = 'running'`.
 */
import type Database from 'better-sqlite3';
import { errors } from '../../../errors.js';
import { JOB_STATES, type CountedState, type EnqueueRequest, type JobError, type JobState, type LeasedJob, type Lease, type RetentionPolicy, type StepRecord } from '../backend.js';
import { DEFAULT_MAX_DELIVERIES, inputText } from '../queued-job.js';
import { toJson, type JobRow } from './job-rows.js';

export class JobOperations {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insert: p(`INSERT OR IGNORE INTO jobs (id, pipeline, state, input, priority, idempotency_key, max_deliveries, created_at, run_at)
                 VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?)`),
      byId: p('SELECT * FROM jobs WHERE id = ?'),
      byKey: p('SELECT * FROM jobs WHERE pipeline = ? AND idempotency_key = ?'),
      runningCount: p(`SELECT count(*) AS n FROM jobs WHERE pipeline = ? AND state = 'running'`),
      // started_at is the latest delivery's start: a job's duration is that of its latest run.
      claim: p(`UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_token = lease_token + 1,
                  lease_expires_at = ?, started_at = ?
                WHERE id IN (SELECT id FROM jobs WHERE pipeline = ? AND state = 'queued' AND run_at <= ?
                             ORDER BY priority, run_at, rowid LIMIT ?)
                RETURNING id, pipeline, input, attempts, earlier_attempts, retried, created_at, run_at, lease_token`),
      expiredToCancelled: p(`UPDATE jobs SET state = 'cancelled', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL
                             WHERE state = 'running' AND lease_expires_at < ? AND cancel_requested = 1`),
      expiredToFailed: p(`UPDATE jobs SET state = 'failed', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL, error = ?
                          WHERE state = 'running' AND lease_expires_at < ? AND attempts >= max_deliveries`),
      // run_at stays: the job goes back where it was in the queue (at its head), not behind the backlog.
      expiredToQueued: p(`UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL
                          WHERE state = 'running' AND lease_expires_at < ?`),
      runningOwners: p(`SELECT DISTINCT pipeline, lease_owner FROM jobs WHERE state = 'running' AND lease_owner IS NOT NULL`),
      expireOwner: p(`UPDATE jobs SET lease_expires_at = 0 WHERE state = 'running' AND pipeline = ? AND lease_owner = ?`),
      extend: p(`UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease_token = ? AND state = 'running' RETURNING cancel_requested`),
      complete: p(`UPDATE jobs SET state = 'succeeded', result = ?, finished_at = ?, lease_owner = NULL, lease_expires_at = NULL
                   WHERE id = ? AND lease_token = ? AND state = 'running'`),
      fail: p(`UPDATE jobs SET state = 'failed', error = ?, finished_at = ?, lease_owner = NULL, lease_expires_at = NULL
               WHERE id = ? AND lease_token = ? AND state = 'running'`),
      ackCancel: p(`UPDATE jobs SET state = 'cancelled', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = ? AND lease_token = ? AND state = 'running'`),
      release: p(`UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, attempts = max(attempts - 1, 0), retried = retried + 1
                  WHERE id = ? AND lease_token = ? AND state = 'running'`),
      fenced: p(`SELECT 1 FROM jobs WHERE id = ? AND lease_token = ? AND state = 'running'`),
      upsertStep: p(`INSERT INTO job_steps (job_id, name, position, state, attempts, result, error, started_at, finished_at)
                     VALUES (?, ?, (SELECT count(*) FROM job_steps WHERE job_id = ?), ?, ?, ?, ?, ?, ?)
                     ON CONFLICT (job_id, name) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
                       result = excluded.result, error = excluded.error, started_at = excluded.started_at, finished_at = excluded.finished_at`),
      checkpoint: p(`INSERT INTO job_steps (job_id, name, position, state, attempts, checkpoint)
                     VALUES (?, ?, (SELECT count(*) FROM job_steps WHERE job_id = ?), 'running', 1, ?)
                     ON CONFLICT (job_id, name) DO UPDATE SET checkpoint = excluded.checkpoint`),
      progress: p(`UPDATE jobs SET progress = ?, progress_message = ? WHERE id = ? AND lease_token = ? AND state = 'running'`),
      log: p('INSERT INTO job_logs (job_id, at, message, data, truncated) VALUES (?, ?, ?, ?, ?)'),
      logCount: p('SELECT count(*) AS n FROM job_logs WHERE job_id = ?'),
      steps: p('SELECT * FROM job_steps WHERE job_id = ? ORDER BY position'),
      logs: p('SELECT seq, at, message, data, truncated FROM job_logs WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      // Each figure from its own small index; succeeded, the bulk of a table, is what the others leave.
      counts: p(`SELECT (SELECT count(*) FROM jobs) AS total,
                   (SELECT count(*) FROM jobs WHERE state = 'queued' AND run_at <= @now) AS queued,
                   (SELECT count(*) FROM jobs WHERE state = 'queued' AND run_at > @now) AS delayed,
                   (SELECT count(*) FROM jobs WHERE state = 'running') AS running,
                   (SELECT count(*) FROM jobs WHERE state = 'failed') AS failed,
                   (SELECT count(*) FROM jobs WHERE state = 'cancelled') AS cancelled`),
      cancelQueued: p(`UPDATE jobs SET state = 'cancelled', cancel_requested = 1, finished_at = ? WHERE id = ? AND state = 'queued'`),
      cancelRunning: p(`UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = 'running'`),
      // The deliveries of the runs so far move to earlier_attempts: the job shows every delivery,
      // and max_deliveries applies to the new run alone.
      retry: p(`UPDATE jobs SET state = 'queued', run_at = ?, started_at = NULL, finished_at = NULL, error = NULL, result = NULL,
                  cancel_requested = 0, retried = retried + 1, earlier_attempts = earlier_attempts + attempts, attempts = 0
                WHERE id = ? AND state IN ('failed', 'cancelled')`),
      // Steps that did not succeed get their tries back and wait as retrying, with the error that
      // ended them, until the next delivery starts them.
      resetFailedSteps: p(`UPDATE job_steps SET state = 'retrying', attempts = 0 WHERE job_id = ? AND state != 'succeeded'`),
      tick: p(`INSERT INTO schedule_ticks (key, last_tick) VALUES (?, ?)
               ON CONFLICT (key) DO UPDATE SET last_tick = excluded.last_tick WHERE last_tick < excluded.last_tick`),
      expiredIds: p(`SELECT id FROM jobs WHERE pipeline = ? AND finished_at IS NOT NULL AND finished_at < ? LIMIT 1000`),
      overflowIds: p(`SELECT id FROM jobs WHERE pipeline = ? AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1000 OFFSET ?`),
      deleteJob: p('DELETE FROM jobs WHERE id = ?'),
      deleteSteps: p('DELETE FROM job_steps WHERE job_id = ?'),
      deleteLogs: p('DELETE FROM job_logs WHERE job_id = ?'),
    };
  }

  /** Adds the job; false when its id or its idempotency key is taken. */
  insertJob(req: EnqueueRequest, now: number): boolean {
    return this.s.insert.run(req.id, req.pipeline, inputText(req), req.priority ?? 0, req.idempotencyKey ?? null,
      req.maxDeliveries ?? DEFAULT_MAX_DELIVERIES, now, now + (req.delayMs ?? 0)).changes === 1;
  }

  /** The job that kept an enqueue from adding its own: the one with its idempotency key (or its id). */
  conflictingJob(req: EnqueueRequest): JobRow | undefined {
    return (req.idempotencyKey == null ? this.s.byId.get(req.id) : this.s.byKey.get(req.pipeline, req.idempotencyKey)) as JobRow | undefined;
  }

  jobById(id: string): JobRow | undefined {
    return this.s.byId.get(id) as JobRow | undefined;
  }

  /** Crashed workers' jobs: back to queued, or cancelled/failed when that is where they were heading. */
  reclaimExpired(now: number): void {
    this.s.expiredToCancelled.run(now, now);
    this.s.expiredToFailed.run(now, JSON.stringify({ message: 'job lost its worker too many times (max deliveries reached)', name: 'DeliveryLimitError' }), now);
    this.s.expiredToQueued.run(now);
  }

  /** Expires the leases of the owners `isDead` names; reclaimExpired then hands their jobs on. */
  expireDeadOwners(pipelines: Set<string>, isDead: (owner: string) => boolean): number {
    let n = 0;
    for (const r of this.s.runningOwners.all() as { pipeline: string; lease_owner: string }[]) {
      if (pipelines.has(r.pipeline) && isDead(r.lease_owner)) n += this.s.expireOwner.run(r.pipeline, r.lease_owner).changes;
    }
    return n;
  }

  claimDue(workerId: string, pipeline: string, limit: number, concurrency: number | undefined, leaseMs: number, now: number): LeasedJob[] {
    let n = limit;
    if (concurrency !== undefined) n = Math.min(n, concurrency - (this.s.runningCount.get(pipeline) as { n: number }).n);
    if (n <= 0) return [];
    const rows = this.s.claim.all(workerId, now + leaseMs, now, pipeline, now, n) as {
      id: string; pipeline: string; input: string; attempts: number; earlier_attempts: number; retried: number; created_at: number; run_at: number;
      lease_token: number;
    }[];
    return rows.map((r) => ({
      jobId: r.id, pipeline: r.pipeline, token: String(r.lease_token), input: JSON.parse(r.input), attempts: r.attempts + r.earlier_attempts,
      createdAt: r.created_at, runAt: r.run_at, fresh: r.attempts === 1 && r.retried === 0,
    }));
  }

  /** Returns cancel_requested, or undefined when the lease is gone. */
  extendLease(lease: Lease, expiresAt: number): number | undefined {
    const row = this.s.extend.get(expiresAt, lease.jobId, Number(lease.token)) as { cancel_requested: number } | undefined;
    return row?.cancel_requested;
  }

  completeJob(lease: Lease, result: unknown, now: number): boolean {
    return this.s.complete.run(toJson(result) ?? 'null', now, lease.jobId, Number(lease.token)).changes === 1;
  }

  failJob(lease: Lease, error: JobError, now: number): boolean {
    return this.s.fail.run(JSON.stringify(error), now, lease.jobId, Number(lease.token)).changes === 1;
  }

  acknowledgeCancel(lease: Lease, now: number): boolean {
    return this.s.ackCancel.run(now, lease.jobId, Number(lease.token)).changes === 1;
  }

  releaseJob(lease: Lease): boolean {
    return this.s.release.run(lease.jobId, Number(lease.token)).changes === 1;
  }

  holdsLease(lease: Lease): boolean {
    return this.s.fenced.get(lease.jobId, Number(lease.token)) !== undefined;
  }

  upsertStep(lease: Lease, step: StepRecord): void {
    this.s.upsertStep.run(lease.jobId, step.name, lease.jobId, step.state, step.attempts, toJson(step.result), toJson(step.error),
      step.startedAt ?? null, step.finishedAt ?? null);
  }

  storeCheckpoint(lease: Lease, stepName: string, checkpoint: unknown): void {
    this.s.checkpoint.run(lease.jobId, stepName, lease.jobId, toJson(checkpoint));
  }

  setProgress(lease: Lease, progress: number, message: string | undefined): boolean {
    return this.s.progress.run(progress, message ?? null, lease.jobId, Number(lease.token)).changes === 1;
  }

  /** Stores a line while the job has fewer than `maxLines`; the last one kept is the truncation marker. */
  appendLog(jobId: string, now: number, message: string, data: unknown, maxLines: number, truncatedMessage: string): void {
    const { n } = this.s.logCount.get(jobId) as { n: number };
    if (n >= maxLines) return;
    if (n === maxLines - 1) this.s.log.run(jobId, now, truncatedMessage, null, 1);
    else this.s.log.run(jobId, now, message, toJson(data), 0);
  }

  stepRows(jobId: string): unknown[] {
    return this.s.steps.all(jobId);
  }

  logRows(jobId: string, afterSeq: number, limit: number): { seq: number; at: number; message: string; data: string | null; truncated: number }[] {
    return this.s.logs.all(jobId, afterSeq, limit) as { seq: number; at: number; message: string; data: string | null; truncated: number }[];
  }

  /** Jobs per state, with queued jobs not yet due counted as `delayed`. */
  stateCounts(now: number): Record<CountedState, number> {
    const c = this.s.counts.get({ now }) as Omit<Record<CountedState, number>, 'succeeded'> & { total: number };
    return { queued: c.queued, delayed: c.delayed, running: c.running, failed: c.failed, cancelled: c.cancelled,
      succeeded: c.total - c.queued - c.delayed - c.running - c.failed - c.cancelled };
  }

  cancelQueued(id: string, now: number): boolean {
    return this.s.cancelQueued.run(now, id).changes === 1;
  }

  requestCancel(id: string): boolean {
    return this.s.cancelRunning.run(id).changes === 1;
  }

  requeueFinished(id: string, now: number): boolean {
    const changed = this.s.retry.run(now, id).changes === 1;
    if (changed) this.s.resetFailedSteps.run(id);
    return changed;
  }

  claimTick(key: string, tickAt: number): boolean {
    return this.s.tick.run(key, tickAt).changes === 1;
  }

  sweepPipeline(pipeline: string, policy: RetentionPolicy, now: number): number {
    const ids = new Set<string>();
    for (const r of this.s.expiredIds.all(pipeline, now - policy.maxAgeMs) as { id: string }[]) ids.add(r.id);
    for (const r of this.s.overflowIds.all(pipeline, policy.maxCount) as { id: string }[]) ids.add(r.id);
    for (const id of ids) {
      this.s.deleteJob.run(id);
      this.s.deleteSteps.run(id);
      this.s.deleteLogs.run(id);
    }
    return ids.size;
  }

  listRows(filter: { pipeline?: string; state?: string; limit: number; before?: number }): (JobRow & { rid: number })[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.pipeline) { where.push('pipeline = ?'); args.push(filter.pipeline); }
    // The state as a literal (it is one of JOB_STATES), so the state's own partial index can serve the query.
    if (filter.state) {
      if (!JOB_STATES.includes(filter.state as JobState)) throw errors.REQUEST_INVALID(`unknown job state ${filter.state}`);
      where.push(`state = '${filter.state}'`);
    }
    if (filter.before !== undefined) { where.push('rowid < ?'); args.push(filter.before); }
    const sql = `SELECT rowid AS rid, * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY rowid DESC LIMIT ?`;
    return this.db.prepare(sql).all(...args, filter.limit) as (JobRow & { rid: number })[];
  }
}
