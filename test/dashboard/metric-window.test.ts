/** Percentiles and deltas from prom-client histograms, read from a real registry. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, Registry } from 'prom-client';
import { histogramDelta, quantile, readHistogram } from '../../src/dashboard/metric-window.js';
import { parseNvidiaSmi } from '../../src/telemetry/gpu-probe.js';

const key = (l: Record<string, string | number>) => `${l.model}`;

test('quantile interpolates inside the bucket, as histogram_quantile does', async () => {
  const registry = new Registry();
  const h = new Histogram({ name: 'lat', help: 'x', labelNames: ['model', 'protocol'], buckets: [0.01, 0.1, 1], registers: [registry] });
  for (let i = 0; i < 10; i++) h.observe({ model: 'a', protocol: 'v2' }, 0.05);
  for (let i = 0; i < 10; i++) h.observe({ model: 'a', protocol: 'openai' }, 0.5); // summed over protocol
  const a = (await readHistogram(registry, 'lat', key)).get('a')!;
  assert.equal(a.count, 20);
  assert.ok(Math.abs(quantile(a, 0.5)! - 0.1) < 1e-9);
  assert.ok(Math.abs(quantile(a, 0.95)! - (0.1 + 0.9 * 0.9)) < 1e-9);
  assert.equal(quantile({ buckets: new Map(), sum: 0, count: 0 }, 0.5), undefined);
});

test('a delta covers only what was observed between two readings', async () => {
  const registry = new Registry();
  const h = new Histogram({ name: 'lat', help: 'x', labelNames: ['model'], buckets: [0.01, 0.1], registers: [registry] });
  h.observe({ model: 'a' }, 0.5);
  const first = (await readHistogram(registry, 'lat', key)).get('a')!;
  h.observe({ model: 'a' }, 0.005);
  const d = histogramDelta((await readHistogram(registry, 'lat', key)).get('a')!, first);
  assert.equal(d.count, 1);
  assert.ok(quantile(d, 0.99)! <= 0.01);
  assert.equal((await readHistogram(registry, 'missing', key)).size, 0);
});

test('nvidia-smi CSV becomes GPU rows', () => {
  assert.deepEqual(parseNvidiaSmi('NVIDIA H100, 37, 1024, 81559\n'), [
    { name: 'NVIDIA H100', utilizationPercent: 37, memoryUsedBytes: 1024 * 1024 * 1024, memoryTotalBytes: 81559 * 1024 * 1024 },
  ]);
  assert.deepEqual(parseNvidiaSmi('GPU, [N/A], , \n')[0].utilizationPercent, undefined);
});
