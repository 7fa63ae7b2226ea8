/** Row ↔ record mapping for the embedded queue; JSON columns are parsed here and nowhere else. */
import type { JobError, JobRecord, JobState, StepRecord, StepState } from '../backend.js';

export interface JobRow {
  id: string;
  pipeline: string;
  state: string;
  input: string;
  priority: number;
  idempotency_key: string | null;
  attempts: number;
  earlier_attempts: number;
  max_deliveries: number;
  created_at: number;
  run_at: number;
  started_at: number | null;
  finished_at: number | null;
  cancel_requested: number;
  progress: number | null;
  progress_message: string | null;
  result: string | null;
  error: string | null;
}

export interface StepRow {
  name: string;
  state: string;
  attempts: number;
  result: string | null;
  error: string | null;
  checkpoint: string | null;
  started_at: number | null;
  finished_at: number | null;
}

export function parseJson(text: string | null): unknown {
  return text == null ? undefined : JSON.parse(text);
}

/** JSON text for a column; undefined is stored as NULL. */
export function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

export function rowToJob(row: JobRow): JobRecord {
  const job: JobRecord = {
    id: row.id,
    pipeline: row.pipeline,
    state: row.state as JobState,
    input: JSON.parse(row.input),
    priority: row.priority,
    attempts: row.attempts + row.earlier_attempts,
    maxDeliveries: row.max_deliveries,
    createdAt: row.created_at,
    runAt: row.run_at,
    cancelRequested: row.cancel_requested === 1,
  };
  if (row.idempotency_key != null) job.idempotencyKey = row.idempotency_key;
  if (row.started_at != null) job.startedAt = row.started_at;
  if (row.finished_at != null) job.finishedAt = row.finished_at;
  if (row.progress != null) job.progress = row.progress;
  if (row.progress_message != null) job.progressMessage = row.progress_message;
  if (row.result != null) job.result = JSON.parse(row.result);
  if (row.error != null) job.error = JSON.parse(row.error) as JobError;
  return job;
}

export function rowToStep(row: StepRow): StepRecord {
  const step: StepRecord = { name: row.name, state: row.state as StepState, attempts: row.attempts };
  if (row.result != null) step.result = JSON.parse(row.result);
  if (row.error != null) step.error = JSON.parse(row.error) as JobError;
  if (row.checkpoint != null) step.checkpoint = JSON.parse(row.checkpoint);
  if (row.started_at != null) step.startedAt = row.started_at;
  if (row.finished_at != null) step.finishedAt = row.finished_at;
  return step;
}
