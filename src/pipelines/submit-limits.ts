/**
 * Bounds on what a job submission may ask for, shared by the service (which enforces them for every
 * caller) and the jobs API's wire schemas. Kept apart from service.ts so the schemas load without
 * the queue backends.
 */
import { errors } from '../errors.js';

/** Longest idempotency key, from the body, the Idempotency-Key header or a webhook's delivery id. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
/** Longest `delayMs` a job may be submitted with: 365 days. */
export const MAX_DELAY_MS = 365 * 86_400_000;

/** Checks one idempotency key as it arrived; `what` names where it came from, for the message. */
export function checkIdempotencyKey(key: string, what: string): string {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw errors.REQUEST_INVALID(`${what} must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters long (it has ${key.length})`);
  }
  return key;
}

export function checkDelay(delayMs: number | undefined): void {
  if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0 && delayMs <= MAX_DELAY_MS)) {
    throw errors.REQUEST_INVALID(`delayMs must be a number from 0 to ${MAX_DELAY_MS} (365 days)`);
  }
}
