/**
 * Rates and latency percentiles for the dashboard, computed from the deltas of cumulative prom-client
 * counters and histograms between samples. The dashboard keeps a short window of samples, so a figure
 * means "over the last few seconds", the way a Grafana panel built on rate() would show it.
 */
import type { Registry } from 'prom-client';

/** Cumulative values of one histogram series: bucket counts by upper bound, plus sum and count. */
export interface HistogramPoint {
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

interface PromValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

async function valuesOf(registry: Registry, name: string): Promise<PromValue[]> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return []; // registered lazily (the LLM metrics appear with the first GGUF model)
  const data = await metric.get();
  return data.values as PromValue[];
}

/** Sums a counter (or a gauge's current values) by the key `keyOf` builds from its labels (other labels are summed over). */
export async function readCounter(registry: Registry, name: string, keyOf: (labels: Record<string, string | number>) => string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of await valuesOf(registry, name)) {
    const key = keyOf(v.labels);
    out.set(key, (out.get(key) ?? 0) + v.value);
  }
  return out;
}

/** Reads a histogram by key, summing buckets over the labels the key leaves out. */
export async function readHistogram(registry: Registry, name: string, keyOf: (labels: Record<string, string | number>) => string): Promise<Map<string, HistogramPoint>> {
  const out = new Map<string, HistogramPoint>();
  const point = (key: string) => {
    let p = out.get(key);
    if (!p) out.set(key, (p = { buckets: new Map(), sum: 0, count: 0 }));
    return p;
  };
  for (const v of await valuesOf(registry, name)) {
    const p = point(keyOf(v.labels));
    if (v.metricName === `${name}_bucket`) {
      const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
      p.buckets.set(le, (p.buckets.get(le) ?? 0) + v.value);
    } else if (v.metricName === `${name}_sum`) p.sum += v.value;
    else if (v.metricName === `${name}_count`) p.count += v.value;
  }
  return out;
}

/** newer − older, bucket by bucket (older may be missing: the series appeared inside the window). */
export function histogramDelta(newer: HistogramPoint, older: HistogramPoint | undefined): HistogramPoint {
  const buckets = new Map<number, number>();
  for (const [le, n] of newer.buckets) buckets.set(le, n - (older?.buckets.get(le) ?? 0));
  return { buckets, sum: newer.sum - (older?.sum ?? 0), count: newer.count - (older?.count ?? 0) };
}

/**
 * The q-quantile of a histogram (cumulative buckets), interpolated linearly inside the bucket it
 * falls in, as Prometheus' histogram_quantile() does. Undefined when the histogram is empty.
 */
export function quantile(h: HistogramPoint, q: number): number | undefined {
  if (h.count <= 0) return undefined;
  const bounds = [...h.buckets.keys()].sort((a, b) => a - b);
  const rank = q * h.count;
  let prevBound = 0;
  let prevCount = 0;
  for (const le of bounds) {
    const cum = h.buckets.get(le) ?? 0;
    if (cum >= rank) {
      if (le === Infinity) return prevBound; // beyond the last finite bucket: the best we can say
      const inBucket = cum - prevCount;
      return inBucket > 0 ? prevBound + (le - prevBound) * ((rank - prevCount) / inBucket) : le;
    }
    prevBound = le;
    prevCount = cum;
  }
  return prevBound;
}
