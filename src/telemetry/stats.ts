/**
 * The statistics of measured samples (`forja bench load`, the benchmarks under bench/, the warm-up
 * timing of a loaded model): one definition of a percentile and a median, so figures from different
 * tools mean the same thing. Latency quantiles of Prometheus histograms are the dashboard's own
 * (dashboard/metric-window.ts): they interpolate inside buckets, samples are not kept.
 */

/** Nearest-rank percentile: the smallest sample with at least p% of the samples at or below it; NaN for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The middle sample, or the mean of the two middle ones for an even count; NaN for none. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Rounds to `digits` decimals (figures in reports stay readable and stable). */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
