/**
 * Leases on Redis: claiming through BullMQ's manual-processing API (Worker.getNextJob), whose lock
 * token is the fencing token, and every write a worker makes while it holds the lock (steps,
 * checkpoints, progress, logs, the outcome), fenced in Forja's scripts or by BullMQ's own checks.
 */
import { Job, type Queue } from 'bullmq';
import { LOG_TRUNCATED_MESSAGE, MAX_LOG_LINES, type JobError, type Lease, type LeasedJob, type LeaseStatus, type StepRecord } from '../backend.js';
import type { RedisConnection } from './redis-connection.js';
import type { JobData } from './redis-job-mapping.js';

export class RedisLeases {
  private readonly leased = new Map<string, Job>();
  /** Jobs BullMQ handed over while completing another (fetchNext), waiting for the next claim. */
  private readonly prefetched = new Map<string, Job[]>();
  /**
   * Completions in flight per pipeline that will hand over its next job (fetchNext). A claim leaves
   * their slots to them: the worker frees a slot as soon as it sends the completion, and claiming
   * for it too would move a second job to active for the same slot.
   */
  private readonly handingOver = new Map<string, number>();
  /** Pipelines whose latest claim left slots to completions in flight: one that brings no job back claims again. */
  private readonly leftToHandOver = new Set<string>();
  private closing = false;
  private tokenSeq = 0;

  constructor(private readonly conn: RedisConnection) {}

  async claim(workerId: string, slots: Map<string, number>, leaseMs: number, max: number): Promise<LeasedJob[]> {
    const out: LeasedJob[] = [];
    for (const [pipeline, n] of slots) {
      const want = Math.min(n, max - out.length);
      if (want <= 0) continue;
      const worker = this.conn.worker(pipeline, leaseMs);
      const ready = this.prefetched.get(pipeline);
      const jobs: Job[] = ready && ready.length > 0 ? ready.splice(0, want) : [];
      const reserved = this.handingOver.get(pipeline) ?? 0;
      const toFetch = want - reserved;
      // Fetches ramp up, 1, 2, 4, ... at once while every fetch yields a job, and stop at the first
      // that comes back empty: a wake-up for one new job costs two calls, not one per free slot.
      let batch = 1;
      while (jobs.length < toFetch) {
        const tokens = Array.from({ length: Math.min(batch, toFetch - jobs.length) }, () => `${workerId}:${++this.tokenSeq}`);
        let got = 0;
        if (tokens.length > 1) this.conn.sendLeaseWritesTogether();
        for (const job of await Promise.all(tokens.map((t) => worker.getNextJob(t, { block: false })))) {
          if (job) { jobs.push(job); got++; }
        }
        if (got < tokens.length) break;
        batch *= 2;
      }
      if (reserved > 0 && jobs.length < want) this.leftToHandOver.add(pipeline);
      for (const job of jobs) {
        if (worker.opts.lockDuration !== leaseMs) await job.extendLock(job.token!, leaseMs);
        const data = job.data as JobData;
        const lease = { jobId: job.id!, pipeline, token: job.token! };
        this.leased.set(lease.jobId, job);
        // A job BullMQ moved to active for us becomes a lease, unless it has run out of deliveries.
        if (job.attemptsStarted > data.m) {
          await this.fail(lease, { message: 'job lost its worker too many times (max deliveries reached)', name: 'DeliveryLimitError' });
          continue;
        }
        // Deliveries before the latest retry: only a job retried (or handed back) can have any.
        const earlier = data.r ? Number(await this.conn.workerClient.hget(this.conn.keys.job(lease.jobId), 'fats') ?? 0) : 0;
        out.push({
          jobId: lease.jobId, pipeline, token: lease.token, input: data.i, attempts: job.attemptsStarted + earlier, createdAt: job.timestamp,
          runAt: job.timestamp + (job.delay ?? 0), fresh: job.attemptsStarted === 1 && !data.r,
        });
      }
    }
    return out;
  }

  async reclaim(pipelines: string[], isDead: (owner: string) => boolean): Promise<number> {
    const { workerClient: client, keys } = this.conn;
    let n = 0;
    for (const pipeline of pipelines) {
      const q = (suffix: string) => keys.queueKey(pipeline, suffix);
      for (const id of await client.lrange(q('active'), 0, -1)) {
        const token = await client.get(keys.lock(id));
        // Tokens are `<worker id>:<sequence>` (see claim).
        if (!token || !isDead(token.slice(0, token.lastIndexOf(':')))) continue;
        n += await client.forjaReclaim(keys.lock(id), keys.job(id), q('active'), q('stalled'), q('wait'), q('paused'), q('meta'), q('marker'), q('events'), token, id);
      }
      if (n > 0) this.conn.enqueued.emit(pipeline);
    }
    return n;
  }

  async heartbeat(leases: Lease[], leaseMs: number): Promise<LeaseStatus[]> {
    const { workerClient: client, keys } = this.conn;
    this.conn.sendLeaseWritesTogether();
    const results = await Promise.all(leases.map((l) => client.forjaHeartbeat(
      keys.lock(l.jobId), keys.job(l.jobId), keys.queueKey(l.pipeline, 'stalled'), l.token, String(leaseMs), l.jobId)));
    return results.map((r): LeaseStatus => (r === 0 ? 'lost' : r === 2 ? 'cancel' : 'ok'));
  }

  async complete(lease: Lease, result: unknown): Promise<boolean> {
    const job = this.leasedJob(lease);
    if (!job) return false;
    const fetchNext = !this.closing;
    this.conn.sendLeaseWritesTogether();
    if (fetchNext) this.handingOver.set(lease.pipeline, (this.handingOver.get(lease.pipeline) ?? 0) + 1);
    let handedOver = false;
    try {
      // Like BullMQ's own worker: completing fetches the next job in the same script call.
      const next = await job.moveToCompleted(result === undefined ? null : result, lease.token, fetchNext) as unknown[] | undefined;
      const raw = next?.[0] as Record<string, string> | null | undefined;
      const worker = this.conn.existingWorker(lease.pipeline);
      if (raw && worker && !this.closing) {
        const nextJob = Job.fromJSON(worker as unknown as Queue, raw as never, next![1] as string);
        nextJob.token = lease.token;
        const ready = this.prefetched.get(lease.pipeline);
        if (ready) ready.push(nextJob);
        else this.prefetched.set(lease.pipeline, [nextJob]);
        handedOver = true;
        this.conn.enqueued.emit(lease.pipeline);
      }
      return true;
    } catch {
      return false;
    } finally {
      if (fetchNext) this.handingOver.set(lease.pipeline, this.handingOver.get(lease.pipeline)! - 1);
      // No job came back for the slot a claim left to this completion (none was due when it ran, or it
      // failed): the worker claims again, so a job added meanwhile does not wait for the poll.
      if (fetchNext && !handedOver && this.leftToHandOver.delete(lease.pipeline)) this.conn.enqueued.emit(lease.pipeline);
      this.leased.delete(lease.jobId);
    }
  }

  fail(lease: Lease, error: JobError): Promise<boolean> {
    return this.finishFailed(lease, error, ['ferr', JSON.stringify(error)]);
  }

  async markCancelled(lease: Lease): Promise<boolean> {
    const ok = await this.finishFailed(lease, { message: 'cancelled', name: 'CancelledError' }, ['fstate', 'cancelled']);
    if (ok) await this.conn.workerClient.sadd(this.conn.keys.cancelledSet(lease.pipeline), lease.jobId);
    return ok;
  }

  async release(lease: Lease, started = true): Promise<boolean> {
    const job = this.leasedJob(lease);
    if (!job) return false;
    try {
      // Marked first (steps may exist now), then handed back; a delivery cut short by shutdown does not count.
      if (started) await job.updateData({ ...(job.data as JobData), r: ((job.data as JobData).r ?? 0) + 1 });
      await job.moveToWait(lease.token);
      await this.conn.workerClient.hincrby(this.conn.keys.job(lease.jobId), 'ats', -1);
      this.conn.enqueued.emit(lease.pipeline);
      return true;
    } catch {
      return false;
    } finally {
      this.leased.delete(lease.jobId);
    }
  }

  /** Prefetched jobs were never started: hand them back (close). */
  async releasePrefetched(): Promise<void> {
    this.closing = true;
    for (const [pipeline, jobs] of this.prefetched) {
      for (const job of jobs) {
        this.leased.set(job.id!, job);
        await this.release({ jobId: job.id!, pipeline, token: job.token! }, false);
      }
    }
    this.prefetched.clear();
  }

  async saveStep(lease: Lease, step: StepRecord): Promise<boolean> {
    const { workerClient: client, keys } = this.conn;
    const { name, result, checkpoint: _checkpoint, ...meta } = step;
    const hasResult = step.state === 'succeeded' && result !== undefined;
    return (await client.forjaSaveStep(keys.lock(lease.jobId), keys.steps(lease.jobId), keys.stepOrder(lease.jobId),
      lease.token, name, JSON.stringify(meta), hasResult ? '1' : '0', hasResult ? JSON.stringify(result) : '')) === 1;
  }

  async saveCheckpoint(lease: Lease, stepName: string, checkpoint: unknown): Promise<boolean> {
    const { workerClient: client, keys } = this.conn;
    return (await client.forjaCheckpoint(keys.lock(lease.jobId), keys.steps(lease.jobId), keys.stepOrder(lease.jobId),
      lease.token, stepName, JSON.stringify({ state: 'running', attempts: 1 }), JSON.stringify(checkpoint ?? null))) === 1;
  }

  async setProgress(lease: Lease, progress: number, message?: string): Promise<boolean> {
    const { workerClient: client, keys } = this.conn;
    return (await client.forjaFencedSet(keys.lock(lease.jobId), keys.job(lease.jobId), lease.token,
      'progress', JSON.stringify(progress), 'fpmsg', message ?? '')) === 1;
  }

  async appendLog(lease: Lease, message: string, data?: unknown): Promise<boolean> {
    const now = Date.now();
    const entry = JSON.stringify(data === undefined ? { at: now, message } : { at: now, message, data });
    const marker = JSON.stringify({ at: now, message: LOG_TRUNCATED_MESSAGE, truncated: true });
    return (await this.conn.workerClient.forjaLog(this.conn.keys.lock(lease.jobId), this.conn.keys.logs(lease.jobId), lease.token, entry,
      String(MAX_LOG_LINES), marker)) !== 0;
  }

  private async finishFailed(lease: Lease, error: JobError, fields: string[]): Promise<boolean> {
    const job = this.leasedJob(lease);
    if (!job) return false;
    this.conn.sendLeaseWritesTogether();
    try {
      const { workerClient: client, keys } = this.conn;
      const marked = await client.forjaFencedSet(keys.lock(lease.jobId), keys.job(lease.jobId), lease.token, ...fields);
      if (marked !== 1) return false;
      const err = Object.assign(new Error(error.message), { name: error.name ?? 'Error', stack: error.stack ?? error.message });
      await job.moveToFailed(err, lease.token, false);
      return true;
    } catch {
      return false;
    } finally {
      this.leased.delete(lease.jobId);
    }
  }

  private leasedJob(lease: Lease): Job | undefined {
    const job = this.leased.get(lease.jobId);
    return job && job.token === lease.token ? job : undefined;
  }
}
