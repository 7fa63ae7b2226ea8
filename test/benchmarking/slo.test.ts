import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { describeSlo, evaluateSlo } from '../../src/benchmarking/slo.js';

const run = (p95: number | null, p99: number | null, errorRate: number, requests = 100) =>
  ({ latency_ms: { p50: p95, p95, p99, max: p99 }, error_rate: errorRate, requests });

describe('evaluateSlo', () => {
  test('passes when every figure is at or under its ceiling', () => {
    const v = evaluateSlo(run(100, 200, 0.01), { p95_ms: 100, p99_ms: 250, error_rate: 0.01 });
    assert.equal(v.pass, true);
    assert.deepEqual(v.failed, []);
    assert.equal(v.checks.length, 3);
  });

  test('names each failed objective', () => {
    const v = evaluateSlo(run(101, 300, 0.5), { p95_ms: 100, p99_ms: 250, error_rate: 0.01 });
    assert.equal(v.pass, false);
    assert.deepEqual(v.failed, ['p95_ms', 'p99_ms', 'error_rate']);
    assert.deepEqual(describeSlo(v), ['SLO p95_ms failed: 101 > 100', 'SLO p99_ms failed: 300 > 250', 'SLO error_rate failed: 0.5 > 0.01']);
  });

  test('a latency that could not be measured fails instead of passing', () => {
    const v = evaluateSlo(run(null, null, 1), { p95_ms: 100 });
    assert.deepEqual(v.failed, ['p95_ms']);
    assert.match(describeSlo(v)[0], /not measurable/);
  });

  test('checks only the objectives given', () => {
    assert.deepEqual(evaluateSlo(run(5, 5, 0), { error_rate: 0 }).checks.map((c) => c.name), ['error_rate']);
  });
});
