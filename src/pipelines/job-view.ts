/** The JSON shape of a job (and of its log lines) in the API and CLI: timestamps as ISO strings, durations in ms. */
import type { JobError, JobRecord, LogEntry, StepRecord } from './queues/backend.js';

export interface StepView {
  name: string;
  state: string;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  error?: JobError;
  hasCheckpoint: boolean;
}

export interface JobView {
  id: string;
  pipeline: string;
  state: string;
  /** Deliveries so far, counted across retries (a shutdown's hand-back does not count). */
  attempts: number;
  priority: number;
  idempotencyKey?: string;
  cancelRequested: boolean;
  createdAt: string;
  runAt: string;
  /** When the latest delivery started (a retried job's earlier runs are not counted). */
  startedAt?: string;
  finishedAt?: string;
  /** The latest delivery, start to finish (or to now while running), in ms. */
  durationMs?: number;
  /** Due to the latest start, in ms. */
  queueWaitMs?: number;
  progress?: number;
  progressMessage?: string;
  input: unknown;
  result?: unknown;
  error?: JobError;
  steps?: StepView[];
}

export interface LogView {
  seq: number;
  at: string;
  message: string;
  data?: unknown;
  /** The marker that ends a log cut at its line limit. */
  truncated?: boolean;
}

const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

export function toStepView(s: StepRecord): StepView {
  return {
    name: s.name, state: s.state, attempts: s.attempts, startedAt: iso(s.startedAt), finishedAt: iso(s.finishedAt),
    durationMs: s.startedAt !== undefined && s.finishedAt !== undefined ? s.finishedAt - s.startedAt : undefined,
    error: s.error, hasCheckpoint: s.checkpoint !== undefined,
  };
}

const UNFINISHED_STEP = new Set(['running', 'retrying']);

/**
 * A step can only be running or retrying while its job runs. One left so in storage by a worker
 * that died before it could write the end (a cancel or the last delivery of a lost job) shows the
 * job's end: cancelled or failed, finished when the job finished.
 */
function settled(step: StepRecord, job: JobRecord): StepRecord {
  if (!UNFINISHED_STEP.has(step.state) || (job.state !== 'cancelled' && job.state !== 'failed')) return step;
  return { ...step, state: job.state, finishedAt: step.finishedAt ?? job.finishedAt };
}

export function toJobView(job: JobRecord, steps?: StepRecord[]): JobView {
  const view: JobView = {
    id: job.id, pipeline: job.pipeline, state: job.state, attempts: job.attempts, priority: job.priority,
    idempotencyKey: job.idempotencyKey, cancelRequested: job.cancelRequested,
    createdAt: iso(job.createdAt)!, runAt: iso(job.runAt)!, startedAt: iso(job.startedAt), finishedAt: iso(job.finishedAt),
    durationMs: job.startedAt !== undefined ? (job.finishedAt ?? Date.now()) - job.startedAt : undefined,
    queueWaitMs: job.startedAt !== undefined ? Math.max(0, job.startedAt - job.runAt) : undefined,
    progress: job.progress, progressMessage: job.progressMessage, input: job.input, result: job.result, error: job.error,
  };
  if (steps) view.steps = steps.map((step) => toStepView(settled(step, job)));
  return view;
}

export function toLogView(entry: LogEntry): LogView {
  const view: LogView = { seq: entry.seq, at: iso(entry.at)!, message: entry.message };
  if (entry.data !== undefined) view.data = entry.data;
  if (entry.truncated) view.truncated = true;
  return view;
}
