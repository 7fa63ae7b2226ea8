/**
 * Runs one delivery of a job: builds the pipeline context, replays stored step results, enforces
 * the pipeline timeout and reports how the run ended. It writes nothing final itself; the worker
 * turns the outcome into the job's next state.
 */
import { errors } from '../errors.js';
import type { PipelineContext, PipelineModels, StepOptions, StepTools } from './define.js';
import { AbortReason, type RunAbort } from './abort.js';
import { toJobError } from './error-info.js';
import type { JobEvents } from './job-events.js';
import type { LoadedPipeline } from './pipeline-loader.js';
import { boundLogLine } from './log-line.js';
import type { PipelineMetrics } from './pipeline-metrics.js';
import type { JobError, LeasedJob, QueueBackend, StepRecord } from './queues/backend.js';
import { isStorageFailure } from './queues/storage-failure.js';
import { executeStep, StepFailedError } from './step-executor.js';

export type RunResult =
  | { kind: 'succeeded'; result: unknown }
  | { kind: 'failed'; error: JobError }
  | { kind: 'aborted'; reason: AbortReason };

export interface RunDeps {
  backend: QueueBackend;
  events: JobEvents;
  metrics?: PipelineMetrics;
  models?: PipelineModels;
  onLogError?: (err: unknown) => void;
}

function noModels(): never {
  throw errors.MODEL_UNAVAILABLE('no model server is attached to this pipeline worker: ctx.infer/ctx.chat need a process started with models (forja serve)');
}

export async function runJob(deps: RunDeps, job: LeasedJob, pipeline: LoadedPipeline, stop: RunAbort): Promise<RunResult> {
  const { backend, events } = deps;
  const timeoutMs = pipeline.definition.timeoutMs;
  // A child switch only when the pipeline has its own timeout; otherwise the worker's switch is the
  // run's as it is. Its AbortSignal is only made when the run asks for one (ctx.signal, steps, models).
  const child = timeoutMs !== undefined ? stop.child() : undefined;
  const timer = child
    ? setTimeout(() => child.abort.abort(new AbortReason('timeout', `pipeline "${pipeline.name}" timed out after ${timeoutMs} ms`)), timeoutMs)
    : undefined;
  const run = child ? child.abort : stop;
  const swallow = (p: Promise<unknown>) => { p.catch((err) => deps.onLogError?.(err)); };
  /** Steps under way: a stopped run waits for them to record how they stopped before the job's own end is written. */
  const steps = new Set<Promise<unknown>>();

  try {
    const stored = new Map<string, StepRecord>();
    if (!job.fresh) for (const s of await backend.steps(job.jobId)) stored.set(s.name, s);
    const seen = new Set<string>();
    const progress = (fraction: number, message?: string) => {
      const p = Math.min(1, Math.max(0, Number(fraction) || 0));
      swallow(backend.setProgress(job, p, message));
      events.emit({ type: 'progress', jobId: job.jobId, progress: p, message, at: Date.now() });
    };
    const log = (message: string, data?: unknown) => {
      const line = boundLogLine(message, data);
      swallow(backend.appendLog(job, line.message, line.data));
      events.emit({ type: 'log', jobId: job.jobId, message: line.message, data: line.data, at: Date.now() });
    };
    const stepEnv = { backend, lease: job, get signal() { return run.signal; }, pipelineRetry: pipeline.retry, events, metrics: deps.metrics, progress, log };

    const ctx: PipelineContext = {
      job: { id: job.jobId, pipeline: job.pipeline, attempt: job.attempts },
      get signal() { return run.signal; },
      progress,
      log,
      async step<T>(name: string, fn: (tools: StepTools) => T | Promise<T>, options?: StepOptions): Promise<T> {
        if (seen.has(name)) throw new Error(`step name "${name}" is used twice in one run of pipeline "${pipeline.name}"; step names must be unique`);
        seen.add(name);
        const previous = stored.get(name);
        if (previous?.state === 'succeeded') {
          events.emit({ type: 'step:replayed', jobId: job.jobId, step: name, at: Date.now() });
          return previous.result as T;
        }
        const running = executeStep(stepEnv, previous, name, fn, options);
        const settled = () => { steps.delete(running); };
        steps.add(running);
        running.then(settled, settled);
        return running;
      },
      // The run's signal by default: a cancelled or timed-out job stops its model calls too.
      infer: (model, request, options) => (deps.models ? deps.models.infer(model, request, { signal: options?.signal ?? run.signal }) : noModels()),
      chat: (model, request, options) => (deps.models ? deps.models.chat(model, request, { signal: options?.signal ?? run.signal }) : noModels()),
    };

    const result = await run.race(Promise.resolve().then(() => pipeline.definition.run(job.input, ctx)));
    return { kind: 'succeeded', result: result === undefined ? null : result };
  } catch (err) {
    if (run.aborted) {
      await Promise.allSettled(steps);
      const reason = run.reason instanceof AbortReason ? run.reason : new AbortReason('cancelled', String(run.reason));
      // A pipeline timeout is the run's own failure; the other reasons come from outside it.
      if (reason.kind === 'timeout') return { kind: 'failed', error: toJobError(reason) };
      return { kind: 'aborted', reason };
    }
    if (err instanceof AbortReason && (err.kind === 'lease-lost' || err.kind === 'storage')) return { kind: 'aborted', reason: err };
    // Storage that fails under the run (reading stored steps, a write) is not the job's failure.
    if (isStorageFailure(err)) return { kind: 'aborted', reason: new AbortReason('storage', err.message) };
    if (err instanceof StepFailedError) return { kind: 'failed', error: err.jobError };
    return { kind: 'failed', error: toJobError(err) };
  } finally {
    if (timer) clearTimeout(timer);
    child?.dispose();
  }
}
