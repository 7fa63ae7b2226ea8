/**
 * Retry policy arithmetic: filling defaults, the delay before retry n (exponential, capped, with
 * jitter) and whether an error may be retried at all.
 */
import { NonRetryableError, type RetryPolicy } from './define.js';

export interface ResolvedRetryPolicy {
  attempts: number;
  initialMs: number;
  factor: number;
  maxMs: number;
  jitter: boolean;
  nonRetryable: string[];
}

export const DEFAULT_RETRY: Readonly<ResolvedRetryPolicy> = Object.freeze({
  attempts: 3, initialMs: 1000, factor: 2, maxMs: 100_000, jitter: true, nonRetryable: [],
});

/** Step options override the pipeline's, which override the defaults, field by field. */
export function resolveRetryPolicy(...layers: (RetryPolicy | undefined)[]): ResolvedRetryPolicy {
  const merged: RetryPolicy = {};
  for (const layer of layers) if (layer) Object.assign(merged, Object.fromEntries(Object.entries(layer).filter(([, v]) => v !== undefined)));
  const initialMs = merged.initialMs ?? DEFAULT_RETRY.initialMs;
  return {
    attempts: Math.max(1, Math.floor(merged.attempts ?? DEFAULT_RETRY.attempts)),
    initialMs,
    factor: merged.factor ?? DEFAULT_RETRY.factor,
    maxMs: merged.maxMs ?? initialMs * 100,
    jitter: merged.jitter ?? DEFAULT_RETRY.jitter,
    nonRetryable: merged.nonRetryable ?? [],
  };
}

/**
 * Delay before the retry that follows failed attempt `attempt` (1-based):
 * min(maxMs, initialMs × factor^(attempt-1)), then with jitter a uniform draw in [d/2, d].
 */
export function backoffDelay(policy: ResolvedRetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt - 1)));
  return policy.jitter ? base / 2 + random() * (base / 2) : base;
}

export function isRetryable(policy: ResolvedRetryPolicy, error: unknown): boolean {
  // By name too: a pipeline project may bring its own copy of forja, with its own class.
  if (error instanceof NonRetryableError || (error as { name?: unknown } | null)?.name === 'NonRetryableError') return false;
  const e = error as { name?: unknown; code?: unknown; nonRetryable?: unknown } | null;
  if (e && e.nonRetryable === true) return false;
  if (e && typeof e.name === 'string' && policy.nonRetryable.includes(e.name)) return false;
  if (e && typeof e.code === 'string' && policy.nonRetryable.includes(e.code)) return false;
  return true;
}
