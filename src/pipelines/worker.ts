/**
 * A worker: leases due jobs in batches, runs them with the job runner, keeps their leases alive with
 * heartbeats and writes each outcome. Per delivery:
 *
 *   claimed ─run─▶ succeeded → complete      failed → fail
 *              └─▶ aborted: cancelled → markCancelled | shutdown → release (resumes elsewhere)
 *                           lease lost → nothing (another worker owns the job now)
 *
 * stop(graceMs) stops claiming at once, lets running jobs finish for the grace, then aborts the rest
 * (their steps' signals fire with a shutdown reason) and releases their leases, so another worker, or
 * this one restarted, takes them at once. Before its first claim a worker takes back the jobs of
 * dead processes `isDeadOwner` recognises (its own node's previous process, after a crash).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AbortReason, RunAbort } from './abort.js';
import { runJob, type RunDeps, type RunResult } from './job-runner.js';
import type { LoadedPipeline } from './pipeline-loader.js';
import type { RunOutcome } from './pipeline-metrics.js';
import type { LeasedJob, QueueBackend } from './queues/backend.js';

export interface WorkerOptions extends RunDeps {
  backend: QueueBackend;
  pipelines: LoadedPipeline[];
  workerId?: string;
  /** Jobs this worker runs at once, all pipelines together. Default 50. */
  concurrency?: number;
  /** Lease length; a crashed worker's jobs are re-delivered after it. Default 30 s. */
  leaseMs?: number;
  /** Default leaseMs / 3. */
  heartbeatMs?: number;
  /** How often to look for jobs enqueued by other processes. Default 200 ms. */
  pollMs?: number;
  /** Whether a lease owner (another worker's id) is a dead process whose jobs this worker may take back at start. */
  isDeadOwner?: (owner: string) => boolean;
  logger?: Logger;
}

interface ActiveRun {
  job: LeasedJob;
  stop: RunAbort;
  /** Settles once the run's outcome is stored. */
  done: Promise<void>;
}

export class PipelineWorker {
  readonly id: string;
  private readonly pipelines = new Map<string, LoadedPipeline>();
  private readonly active = new Map<string, ActiveRun>();
  /**
   * Runs whose outcome is still being written. A run leaves `active` (its slot is free) as soon as
   * its outcome write is issued, so the next claim goes out with it: storage orders that write before
   * the claim (SQLite writes pending outcomes in the claim's transaction; Redis serves one
   * connection's commands in order).
   */
  private readonly recording = new Set<Promise<void>>();
  private readonly activeByPipeline = new Map<string, number>();
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly heartbeatMs: number;
  private stopping = false;
  private loopDone: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  /** A wake that came while the loop was busy claiming: the next sleep returns at once. */
  private wakePending = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private rotation = 0;

  constructor(private readonly options: WorkerOptions) {
    this.id = options.workerId ?? `worker-${randomUUID()}`;
    for (const p of options.pipelines) this.pipelines.set(p.name, p);
    this.concurrency = options.concurrency ?? 50;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.floor(this.leaseMs / 3));
    this.pollMs = options.pollMs ?? 200;
  }

  get running(): number {
    return this.active.size;
  }

  start(): void {
    if (this.loopDone) return;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    this.heartbeatTimer.unref();
    this.loopDone = this.loop();
  }

  /** Look for jobs now (a job was enqueued or a slot freed). */
  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    if (w) w();
    else this.wakePending = true;
  }

  /** Aborts a job running here at once (the heartbeat would find the request later anyway). */
  abortLocal(jobId: string, reason: AbortReason): boolean {
    const run = this.active.get(jobId);
    if (!run) return false;
    run.stop.abort(reason);
    return true;
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    this.wake();
    const runs = [...this.active.values()];
    if (runs.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); });
      await Promise.race([Promise.all(runs.map((r) => r.done)), grace]);
      clearTimeout(timer);
      for (const r of this.active.values()) r.stop.abort(new AbortReason('shutdown', 'the worker is shutting down; the job is handed back and resumes at once elsewhere or on the next start'));
    }
    // Each aborted run settles by releasing its lease (settle), so waiting for the outcomes waits for the releases.
    await Promise.all([...this.recording]);
    // After the runs: a claim in flight at the signal hands its jobs straight back (loop).
    await this.loopDone;
    clearInterval(this.heartbeatTimer);
  }

  private freeSlots(): Map<string, number> {
    // Rotate the order so one busy pipeline cannot take every slot every time.
    const names = [...this.pipelines.keys()];
    const start = this.rotation++ % Math.max(1, names.length);
    const slots = new Map<string, number>();
    for (let i = 0; i < names.length; i++) {
      const p = this.pipelines.get(names[(start + i) % names.length])!;
      const cap = p.definition.concurrency ?? this.concurrency;
      slots.set(p.name, Math.max(0, cap - (this.activeByPipeline.get(p.name) ?? 0)));
    }
    return slots;
  }

  private async loop(): Promise<void> {
    if (this.options.isDeadOwner) await this.reclaimDeadOwners(this.options.isDeadOwner);
    while (!this.stopping) {
      const free = this.concurrency - this.active.size;
      let claimed: LeasedJob[] = [];
      if (free > 0) {
        try {
          claimed = await this.options.backend.claim(this.id, this.freeSlots(), this.leaseMs, free);
        } catch (err) {
          this.options.logger?.warn({ err }, 'claiming jobs failed; retrying');
          // Storage that fails (full, unreachable) is not hammered every poll.
          await new Promise((resolve) => setTimeout(resolve, Math.max(this.pollMs, 1000)));
        }
      }
      if (this.stopping) {
        // Claimed during shutdown: hand them straight back.
        await Promise.all(claimed.map((j) => this.options.backend.release(j).catch(() => false)));
        break;
      }
      for (const job of claimed) this.launch(job);
      // Fewer than asked for: nothing more is due now (or the pipelines' caps are reached), so the next
      // claim waits for a wake (an enqueue here, a freed slot) or the poll, instead of a claim that finds nothing.
      if (claimed.length < free || this.active.size >= this.concurrency) await this.sleepUntilWoken();
    }
  }

  private async reclaimDeadOwners(isDead: (owner: string) => boolean): Promise<void> {
    try {
      const n = await this.options.backend.reclaimLeases([...this.pipelines.keys()], isDead);
      if (n > 0) this.options.logger?.info({ jobs: n }, 'took back the jobs of a previous process of this node that stopped without handing them back');
    } catch (err) {
      this.options.logger?.warn({ err }, 'could not take back the jobs of a previous process; they resume when their leases expire');
    }
  }

  private sleepUntilWoken(): Promise<void> {
    if (this.wakePending && this.active.size < this.concurrency) {
      this.wakePending = false;
      return Promise.resolve();
    }
    this.wakePending = false;
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wakeUp = undefined; resolve(); }, this.pollMs);
      this.wakeUp = () => { clearTimeout(timer); resolve(); };
    });
  }

  private launch(job: LeasedJob): void {
    const pipeline = this.pipelines.get(job.pipeline)!;
    const stop = new RunAbort();
    const started = Date.now();
    this.activeByPipeline.set(job.pipeline, (this.activeByPipeline.get(job.pipeline) ?? 0) + 1);
    this.options.metrics?.queueWait.observe({ pipeline: job.pipeline }, Math.max(0, started - Math.max(job.runAt, job.createdAt)) / 1000);
    this.options.events.emit({ type: 'job:state', jobId: job.jobId, pipeline: job.pipeline, state: 'running', at: started, attempt: job.attempts });
    const run: ActiveRun = { job, stop, done: Promise.resolve() };
    const freeSlot = () => {
      if (this.active.get(job.jobId) !== run) return;
      this.active.delete(job.jobId);
      this.activeByPipeline.set(job.pipeline, this.activeByPipeline.get(job.pipeline)! - 1);
      this.wake();
    };
    const done = runJob(this.options, job, pipeline, stop)
      .then((result) => {
        const recorded = this.settle(job, result, started);
        freeSlot();
        return recorded;
      })
      .catch((err) => this.options.logger?.error({ err, jobId: job.jobId }, 'recording a job outcome failed; the lease will expire and the job will be re-delivered'))
      .finally(() => {
        freeSlot();
        this.recording.delete(done);
      });
    run.done = done;
    this.recording.add(done);
    this.active.set(job.jobId, run);
  }

  private async settle(job: LeasedJob, result: RunResult, started: number): Promise<void> {
    const { backend, events, metrics } = this.options;
    let outcome: RunOutcome;
    if (result.kind === 'succeeded') {
      outcome = (await backend.complete(job, result.result)) ? 'succeeded' : 'lost';
    } else if (result.kind === 'failed') {
      outcome = (await backend.fail(job, result.error)) ? 'failed' : 'lost';
    } else if (result.reason.kind === 'cancelled') {
      outcome = (await backend.markCancelled(job)) ? 'cancelled' : 'lost';
    } else if (result.reason.kind === 'shutdown') {
      await backend.release(job);
      outcome = 'interrupted';
      this.options.logger?.info({ jobId: job.jobId, pipeline: job.pipeline }, 'job handed back at shutdown; it resumes on the next start');
    } else if (result.reason.kind === 'storage') {
      // Handed back to run again once storage recovers; if even that fails, the lease expires.
      this.options.logger?.warn({ jobId: job.jobId, err: result.reason.message }, 'queue storage failed under a running job; the job is handed back');
      await this.releaseWhenStorageAllows(job);
      outcome = 'interrupted';
    } else {
      outcome = 'lost';
    }
    metrics?.runs.inc({ pipeline: job.pipeline, outcome });
    metrics?.runDuration.observe({ pipeline: job.pipeline }, (Date.now() - started) / 1000);
    if (outcome === 'succeeded' || outcome === 'failed' || outcome === 'cancelled') {
      events.emit({ type: 'job:state', jobId: job.jobId, pipeline: job.pipeline, state: outcome, at: Date.now(), error: result.kind === 'failed' ? result.error : undefined });
    } else if (outcome === 'lost') {
      this.options.logger?.warn({ jobId: job.jobId }, 'job lease lost: another worker owns it now; this run\'s outcome was not recorded');
    }
  }

  /**
   * Hands a job back after storage failed under it. The hand-back is a write too and may fail while the
   * storage does: it is tried again every second for half a lease (the lease outlives that), after
   * which the lease expires and the job is delivered again anyway.
   */
  private async releaseWhenStorageAllows(job: LeasedJob): Promise<void> {
    const until = Date.now() + this.leaseMs / 2;
    for (;;) {
      const result = await this.options.backend.release(job).then((held) => (held ? 'released' : 'lost'), () => 'failed');
      if (result !== 'failed' || Date.now() >= until) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  private async heartbeat(): Promise<void> {
    const runs = [...this.active.values()];
    if (runs.length === 0) return;
    try {
      const statuses = await this.options.backend.heartbeat(runs.map((r) => r.job), this.leaseMs);
      statuses.forEach((status, i) => {
        if (status === 'lost') runs[i].stop.abort(new AbortReason('lease-lost', `job ${runs[i].job.jobId} lease lost`));
        else if (status === 'cancel') runs[i].stop.abort(new AbortReason('cancelled', 'job cancelled'));
      });
    } catch (err) {
      this.options.logger?.warn({ err }, 'heartbeat failed; retrying on the next beat');
    }
  }
}
