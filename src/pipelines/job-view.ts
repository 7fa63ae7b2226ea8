/** The JSON shape of a job in the API and CLI: timestamps as ISO strings, durations in ms. */
import type { JobError, JobRecord, StepRecord } from './queues/backend.js';

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
  attempts: number;
  priority: number;
  idempotencyKey?: string;
  cancelRequested: boolean;
  createdAt: string;
  runAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Start to finish (or to now while running), in ms. */
  durationMs?: number;
  /** Due to first start, in ms. */
  queueWaitMs?: number;
  progress?: number;
  progressMessage?: string;
  input: unknown;
  result?: unknown;
  error?: JobError;
  steps?: StepView[];
}

const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

export function toStepView(s: StepRecord): StepView {
  return {
    name: s.name, state: s.state, attempts: s.attempts, startedAt: iso(s.startedAt), finishedAt: iso(s.finishedAt),
    durationMs: s.startedAt !== undefined && s.finishedAt !== undefined ? s.finishedAt - s.startedAt : undefined,
    error: s.error, hasCheckpoint: s.checkpoint !== undefined,
  };
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
  if (steps) view.steps = steps.map(toStepView);
  return view;
}
