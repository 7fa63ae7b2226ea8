/**
 * The two ways queue storage fails that are nobody's mistake and pass with time: it cannot be reached
 * or cannot serve now (QUEUE_UNAVAILABLE), or it has no room (STORAGE_FULL). Both are 503 with
 * Retry-After for a client; for a running job they mean "hand the job back", never "the step failed".
 */
import { errors, ForjaError } from '../../errors.js';

export const UNAVAILABLE_RETRY_AFTER_S = 5;
export const FULL_RETRY_AFTER_S = 30;

export function queueUnavailable(message: string, cause?: unknown): ForjaError {
  return errors.QUEUE_UNAVAILABLE(message, { cause, headers: { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_S) } });
}

export function storageFull(message: string, cause?: unknown): ForjaError {
  return errors.STORAGE_FULL(message, { cause, headers: { 'retry-after': String(FULL_RETRY_AFTER_S) } });
}

export function isStorageFailure(err: unknown): err is ForjaError {
  return err instanceof ForjaError && (err.code === errors.QUEUE_UNAVAILABLE.code || err.code === errors.STORAGE_FULL.code);
}
