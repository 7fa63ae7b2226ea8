/** Turns anything thrown into the JSON error shape stored with jobs and steps (message and stack kept). */
import type { JobError } from './queues/backend.js';

export function toJobError(err: unknown, step?: string): JobError {
  const out: JobError = { message: err instanceof Error ? err.message : String(err) };
  if (err instanceof Error) {
    out.name = err.name;
    if (err.stack) out.stack = err.stack;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') out.code = code;
  }
  if (step !== undefined) out.step = step;
  return out;
}
