/**
 * The regression gate's arithmetic, kept pure so it is tested without running a benchmark.
 *
 * A benchmark report holds many figures; only ratios measured side by side in one run (Forja vs a
 * direct runtime call, vs a peer) are compared across runs, because absolute figures move with the
 * machine while a ratio mostly does not. A figure is a ratio when its key says so: it contains
 * `ratio`, `vs_`, or a camelCase `Vs` (`sqliteVsBullmqThroughput`). Every ratio is higher-is-better.
 */

import { round } from '../telemetry/stats.js';

export type RatioMap = Record<string, number>;

export interface Regression {
  /** Dotted path of the figure, e.g. `jobs.ratios.sqliteVsBullmqThroughput`. */
  path: string;
  baseline: number;
  current: number;
  /** Relative change, (current - baseline) / baseline: -0.3 is 30% worse. */
  change: number;
}

export interface Comparison {
  tolerance: number;
  /** Figures present in both reports. */
  compared: number;
  regressions: Regression[];
  /** In the baseline, absent from this run although its benchmark ran (a model skipped, a peer missing). */
  missing: string[];
  /** New in this run, absent from the baseline. */
  added: string[];
}

export function isRatioKey(key: string): boolean {
  // camelCase needs the case-sensitive form so that words such as `canvas` do not match.
  return /ratio/i.test(key) || key.includes('vs_') || /[a-z0-9]Vs[A-Z]/.test(key);
}

/** Walks any JSON value and returns every numeric ratio figure by dotted path (array items by index). */
export function extractRatios(value: unknown, prefix = ''): RatioMap {
  const out: RatioMap = {};
  const walk = (node: unknown, path: string, key: string) => {
    if (typeof node === 'number') {
      if (Number.isFinite(node) && isRatioKey(key)) out[path] = node;
      return;
    }
    if (Array.isArray(node)) {
      node.forEach((child, i) => walk(child, join(path, String(i)), key));
      return;
    }
    if (node && typeof node === 'object') {
      for (const [k, child] of Object.entries(node as Record<string, unknown>)) walk(child, join(path, k), k);
    }
  };
  walk(value, prefix, '');
  return out;
}

const join = (a: string, b: string) => (a ? `${a}.${b}` : b);

/** "10%" → 0.1, "0.1" → 0.1, "25" → 0.25 (a bare number above 1 is read as percent). */
export function parseTolerance(text: string): number {
  const trimmed = text.trim();
  const percent = trimmed.endsWith('%');
  const digits = percent ? trimmed.slice(0, -1) : trimmed;
  const n = Number(digits);
  if (!/^[\d.]+$/.test(digits) || !Number.isFinite(n)) throw new Error(`invalid tolerance '${text}': expected e.g. 10% or 0.1`);
  const fraction = percent || n > 1 ? n / 100 : n;
  if (fraction >= 1) throw new Error(`invalid tolerance '${text}': must be below 100%`);
  return fraction;
}

/**
 * The ratio figures of a report: a merged `forja bench` report (it has `benchmarks`) carries them in
 * its `ratios` map; any other document (one benchmark's own output) is walked.
 */
export function ratiosOf(report: unknown): RatioMap {
  if (report && typeof report === 'object' && 'benchmarks' in report && 'ratios' in report) {
    const ratios = (report as { ratios: unknown }).ratios;
    if (ratios && typeof ratios === 'object' && !Array.isArray(ratios)) {
      const out: RatioMap = {};
      for (const [k, v] of Object.entries(ratios)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
      return out;
    }
  }
  return extractRatios(report);
}

/**
 * Compares current ratios with the baseline's. A figure regresses when it fell more than `tolerance`
 * below its baseline. Only figures of benchmarks that ran (`ranBenchmarks`, the first path segment)
 * are expected, so `--only jobs` does not report the serving figures as missing.
 */
export function compareRatios(baseline: RatioMap, current: RatioMap, tolerance: number, ranBenchmarks?: string[]): Comparison {
  const ran = (path: string) => !ranBenchmarks || ranBenchmarks.includes(path.split('.')[0]);
  const regressions: Regression[] = [];
  const missing: string[] = [];
  let compared = 0;
  for (const [path, base] of Object.entries(baseline)) {
    if (!ran(path)) continue;
    const now = current[path];
    if (now === undefined) {
      missing.push(path);
      continue;
    }
    compared++;
    // A baseline of 0 or below cannot be undercut by a meaningful fraction; nothing to gate.
    if (base <= 0) continue;
    if (now < base * (1 - tolerance)) regressions.push({ path, baseline: base, current: now, change: round((now - base) / base, 4) });
  }
  const added = Object.keys(current).filter((path) => !(path in baseline));
  return { tolerance, compared, regressions, missing, added };
}

/** One line per regression, for people reading CI logs. */
export function describeRegressions(comparison: Comparison): string[] {
  return comparison.regressions.map((r) =>
    `regression: ${r.path} ${r.baseline} -> ${r.current} (${(r.change * 100).toFixed(1)}%, tolerance -${(comparison.tolerance * 100).toFixed(0)}%)`);
}
