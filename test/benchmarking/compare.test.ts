import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compareRatios, describeRegressions, extractRatios, isRatioKey, parseTolerance, ratiosOf } from '../../src/benchmarking/compare.js';

// Shaped like the real benchmark outputs (bench/serving.ts, bench/llm.ts, bench/jobs.ts).
const serving = {
  latency: { forja_ms: { p50: 0.4 }, added_p50_ms: 0.2 },
  batching: [{ model: 'mlp', runs: [{ setting: 'a', items_per_s: 100, vs_direct_best: 0.5 }], ratio_vs_direct_best: 0.5, ratio_on_vs_off: 1.9, met: false }],
};
const jobs = { forjaSqlite: { jobsPerSec: 9000 }, ratios: { sqliteVsBullmqThroughput: 3.1, redisVsBullmqThroughput: 1.6 } };
const llm = { models: { tiny: { ratios: { forja_http_vs_direct_1_stream: 1.1, ttft_forja_minus_llama_server_ms: 0.4 } } } };

describe('isRatioKey', () => {
  test('matches ratio, snake vs_ and camelCase Vs keys', () => {
    for (const key of ['ratio_on_vs_off', 'vs_direct_best', 'forja_http_vs_direct_1_stream', 'sqliteVsBullmqThroughput', 'ratio']) assert.ok(isRatioKey(key), key);
  });
  test('does not match absolute figures or differences', () => {
    for (const key of ['items_per_s', 'p50', 'added_p50_ms', 'ttft_forja_minus_llama_server_ms', 'canvas', 'jobsPerSec']) assert.ok(!isRatioKey(key), key);
  });
});

describe('extractRatios', () => {
  test('finds every ratio by dotted path, array items by index', () => {
    assert.deepEqual(extractRatios(serving, 'serving'), {
      'serving.batching.0.runs.0.vs_direct_best': 0.5,
      'serving.batching.0.ratio_vs_direct_best': 0.5,
      'serving.batching.0.ratio_on_vs_off': 1.9,
    });
    assert.deepEqual(extractRatios(jobs, 'jobs'), { 'jobs.ratios.sqliteVsBullmqThroughput': 3.1, 'jobs.ratios.redisVsBullmqThroughput': 1.6 });
    assert.deepEqual(extractRatios(llm, 'llm'), { 'llm.models.tiny.ratios.forja_http_vs_direct_1_stream': 1.1 });
  });
  test('ignores non-finite and non-numeric values', () => {
    assert.deepEqual(extractRatios({ a_ratio: 'n/a', b_ratio: null, c_ratio: Number.NaN, d_ratio: 2 }), { d_ratio: 2 });
  });
});

describe('parseTolerance', () => {
  test('reads percent and fractions', () => {
    assert.equal(parseTolerance('10%'), 0.1);
    assert.equal(parseTolerance(' 25% '), 0.25);
    assert.equal(parseTolerance('0.1'), 0.1);
    assert.equal(parseTolerance('25'), 0.25);
    assert.equal(parseTolerance('0'), 0);
  });
  test('rejects nonsense', () => {
    for (const bad of ['', 'abc', '-5%', '100%', '150']) assert.throws(() => parseTolerance(bad), /invalid tolerance/, bad);
  });
});

describe('ratiosOf', () => {
  test('uses a merged report\'s ratios map, else walks the document', () => {
    assert.deepEqual(ratiosOf({ ratios: { 'jobs.x_ratio': 2, 'jobs.bad': 'n' }, benchmarks: { jobs } }), { 'jobs.x_ratio': 2 });
    assert.deepEqual(ratiosOf(jobs), { 'ratios.sqliteVsBullmqThroughput': 3.1, 'ratios.redisVsBullmqThroughput': 1.6 });
  });
});

describe('compareRatios', () => {
  const baseline = { 'jobs.a_ratio': 2, 'jobs.b_ratio': 1, 'serving.c_ratio': 0.8, 'jobs.gone_ratio': 1 };

  test('a drop within the tolerance passes; beyond it is a regression; a rise never is', () => {
    const c = compareRatios(baseline, { 'jobs.a_ratio': 1.81, 'jobs.b_ratio': 0.89, 'serving.c_ratio': 5, 'jobs.gone_ratio': 1 }, 0.1);
    assert.deepEqual(c.regressions, [{ path: 'jobs.b_ratio', baseline: 1, current: 0.89, change: -0.11 }]);
    assert.equal(c.compared, 4);
    assert.deepEqual(c.missing, []);
  });

  test('exactly at the edge is not a regression', () => {
    assert.deepEqual(compareRatios({ x_ratio: 1 }, { x_ratio: 0.75 }, 0.25).regressions, []);
  });

  test('figures of benchmarks that did not run are neither compared nor missing', () => {
    const c = compareRatios(baseline, { 'jobs.a_ratio': 2, 'jobs.b_ratio': 1 }, 0.1, ['jobs']);
    assert.equal(c.compared, 2);
    assert.deepEqual(c.missing, ['jobs.gone_ratio']);
    assert.deepEqual(c.regressions, []);
  });

  test('reports figures new in this run', () => {
    assert.deepEqual(compareRatios({}, { 'jobs.new_ratio': 1 }, 0.1).added, ['jobs.new_ratio']);
  });

  test('a zero baseline gates nothing', () => {
    assert.deepEqual(compareRatios({ x_ratio: 0 }, { x_ratio: 0 }, 0.1).regressions, []);
  });

  test('describes each regression with its path, both figures and the change', () => {
    const c = compareRatios({ 'jobs.a_ratio': 2 }, { 'jobs.a_ratio': 1 }, 0.1);
    assert.deepEqual(describeRegressions(c), ['regression: jobs.a_ratio 2 -> 1 (-50.0%, tolerance -10%)']);
  });
});
