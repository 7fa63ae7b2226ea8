/**
 * The record of a job just added, made from its request: a backend answers an enqueue that created
 * the job without reading it back.
 */
import type { EnqueueRequest, JobRecord } from './backend.js';

/** Deliveries a job may take when its pipeline sets no maxDeliveries. */
export const DEFAULT_MAX_DELIVERIES = 10;

export function queuedJob(id: string, request: EnqueueRequest, now: number): JobRecord {
  const job: JobRecord = {
    id, pipeline: request.pipeline, state: 'queued', input: request.input ?? null, priority: request.priority ?? 0, attempts: 0,
    maxDeliveries: request.maxDeliveries ?? DEFAULT_MAX_DELIVERIES, createdAt: now, runAt: now + (request.delayMs ?? 0), cancelRequested: false,
  };
  if (request.idempotencyKey != null) job.idempotencyKey = request.idempotencyKey;
  return job;
}

/** The JSON text of a request's input: the caller's own when it has one. */
export function inputText(request: EnqueueRequest): string {
  return request.inputJson ?? JSON.stringify(request.input ?? null);
}
