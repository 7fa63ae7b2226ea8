/**
 * Service level objectives for a load run: latency percentiles and an error rate, each a ceiling.
 * An SLO that cannot be measured (no successful request, so no latency) fails rather than passes.
 */
import type { LoadResult } from './load.js';

export interface SloTargets {
  p95_ms?: number;
  p99_ms?: number;
  /** Fraction of requests, 0.01 = 1%. */
  error_rate?: number;
}

export interface SloCheck {
  name: keyof SloTargets;
  target: number;
  actual: number | null;
  pass: boolean;
}

export interface SloVerdict {
  pass: boolean;
  checks: SloCheck[];
  /** Names of the failed checks, e.g. ['p95_ms']. */
  failed: string[];
}

export function evaluateSlo(result: Pick<LoadResult, 'latency_ms' | 'error_rate' | 'requests'>, targets: SloTargets): SloVerdict {
  const checks: SloCheck[] = [];
  const check = (name: keyof SloTargets, actual: number | null) => {
    const target = targets[name];
    if (target === undefined) return;
    checks.push({ name, target, actual, pass: actual !== null && actual <= target });
  };
  check('p95_ms', result.latency_ms.p95);
  check('p99_ms', result.latency_ms.p99);
  check('error_rate', result.requests > 0 ? result.error_rate : null);
  const failed = checks.filter((c) => !c.pass).map((c) => c.name);
  return { pass: failed.length === 0, checks, failed };
}

/** Human lines for the failed checks. */
export function describeSlo(verdict: SloVerdict): string[] {
  return verdict.checks.filter((c) => !c.pass).map((c) =>
    c.actual === null ? `SLO ${c.name} failed: not measurable (no successful request)` : `SLO ${c.name} failed: ${c.actual} > ${c.target}`);
}
