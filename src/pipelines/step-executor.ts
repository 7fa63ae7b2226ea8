/**
 * Runs one named step of a job. Step state machine (stored after every transition, fenced by the
 * job's lease, so it survives crashes):
 *
 *   (none) ─▶ running ─ok─▶ succeeded            (result stored; later runs return it, no re-run)
 *                │ └─error, retryable, tries left─▶ retrying ─backoff─▶ running
 *                ├─error, non-retryable or no tries left─▶ failed (the job fails)
 *                └─job cancelled (running or retrying)─▶ cancelled
 *
 * Tries are counted across deliveries. Each try gets its own AbortSignal, aborted by the step's
 * timeout or by the run's signal (cancel, pipeline timeout, lost lease, shutdown deadline).
 */
import type { StepOptions, StepTools } from './define.js';
import { AbortReason, childController, raceAbort, sleep } from './abort.js';
import { toJobError } from './error-info.js';
import type { JobEvents } from './job-events.js';
import type { PipelineMetrics } from './pipeline-metrics.js';
import type { JobError, Lease, QueueBackend, StepRecord } from './queues/backend.js';
import { isStorageFailure } from './queues/storage-failure.js';
import { backoffDelay, isRetryable, resolveRetryPolicy, type ResolvedRetryPolicy } from './retry-policy.js';

/** A step failed for good; the job fails with the step's error. */
export class StepFailedError extends Error {
  constructor(readonly step: string, readonly jobError: JobError) {
    super(jobError.message);
    this.name = 'StepFailedError';
  }
}

export interface StepRunEnv {
  backend: QueueBackend;
  lease: Lease;
  /** The run's signal. */
  signal: AbortSignal;
  pipelineRetry: ResolvedRetryPolicy | undefined;
  events: JobEvents;
  metrics?: PipelineMetrics;
  progress(fraction: number, message?: string): void;
  log(message: string, data?: unknown): void;
}

/** A storage write; storage that fails (full, unreachable) stops the run instead of failing the step. */
async function storageWrite(write: Promise<boolean>): Promise<boolean> {
  try {
    return await write;
  } catch (err) {
    if (isStorageFailure(err)) throw new AbortReason('storage', err.message);
    throw err;
  }
}

function leaseLost(jobId: string): AbortReason {
  return new AbortReason('lease-lost', `job ${jobId} is owned by another worker now`);
}

export async function executeStep<T>(env: StepRunEnv, stored: StepRecord | undefined, name: string,
  fn: (tools: StepTools) => T | Promise<T>, options: StepOptions = {}): Promise<T> {
  const { backend, lease, signal, events } = env;
  const policy = resolveRetryPolicy(env.pipelineRetry, options.retry);
  let attempts = stored?.attempts ?? 0;
  let checkpoint = stored?.checkpoint;
  const save = async (record: StepRecord) => {
    if (!(await storageWrite(backend.saveStep(lease, { ...record, checkpoint })))) throw leaseLost(lease.jobId);
  };

  // Cancellation ends the step for good: stored as cancelled, so no view shows it running forever.
  // Other stops (shutdown, lost lease) leave it as it is: the step resumes on the next delivery.
  const stopped = async (record: Omit<StepRecord, 'name' | 'state' | 'attempts'>): Promise<never> => {
    const reason = signal.reason;
    if (reason instanceof AbortReason && reason.kind === 'cancelled') {
      const at = Date.now();
      await save({ name, state: 'cancelled', attempts, ...record, finishedAt: at }).catch(() => undefined);
      events.emit({ type: 'step:cancelled', jobId: lease.jobId, step: name, attempt: attempts, at });
    }
    throw reason;
  };

  for (;;) {
    if (signal.aborted) throw signal.reason;
    attempts++;
    const startedAt = Date.now();
    await save({ name, state: 'running', attempts, startedAt });
    events.emit({ type: 'step:start', jobId: lease.jobId, step: name, attempt: attempts, at: startedAt });
    const { controller, dispose } = childController(signal);
    const timer = options.timeoutMs !== undefined
      ? setTimeout(() => controller.abort(new AbortReason('timeout', `step "${name}" timed out after ${options.timeoutMs} ms`)), options.timeoutMs)
      : undefined;
    const tools: StepTools = {
      signal: controller.signal,
      attempt: attempts,
      checkpoint,
      saveCheckpoint: async (data) => {
        if (!(await storageWrite(backend.saveCheckpoint(lease, name, data)))) throw leaseLost(lease.jobId);
        checkpoint = data;
        events.emit({ type: 'step:checkpoint', jobId: lease.jobId, step: name, at: Date.now() });
      },
      progress: env.progress,
      log: env.log,
    };
    try {
      const value = await raceAbort(Promise.resolve().then(() => fn(tools)), controller.signal);
      const finishedAt = Date.now();
      await save({ name, state: 'succeeded', attempts, startedAt, finishedAt, result: value === undefined ? null : value });
      events.emit({ type: 'step:succeeded', jobId: lease.jobId, step: name, attempt: attempts, at: finishedAt, durationMs: finishedAt - startedAt });
      return value;
    } catch (err) {
      // The run itself was stopped: not this step's failure.
      if (signal.aborted) return stopped({ startedAt });
      if (err instanceof AbortReason && (err.kind === 'lease-lost' || err.kind === 'storage')) throw err;
      const error = toJobError(err, name);
      const now = Date.now();
      if (!isRetryable(policy, err) || attempts >= policy.attempts) {
        await save({ name, state: 'failed', attempts, startedAt, finishedAt: now, error });
        events.emit({ type: 'step:failed', jobId: lease.jobId, step: name, attempt: attempts, error, at: now });
        throw new StepFailedError(name, error);
      }
      const delayMs = backoffDelay(policy, attempts);
      await save({ name, state: 'retrying', attempts, startedAt, finishedAt: now, error });
      env.metrics?.stepRetries.inc({ pipeline: lease.pipeline, step: name });
      events.emit({ type: 'step:retry', jobId: lease.jobId, step: name, attempt: attempts, delayMs, error, at: now });
      await sleep(delayMs, signal).catch(() => stopped({ startedAt, error }));
    } finally {
      if (timer) clearTimeout(timer);
      dispose();
    }
  }
}
