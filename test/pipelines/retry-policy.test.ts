import assert from 'node:assert/strict';
import { it } from 'node:test';
import { NonRetryableError } from '../../src/pipelines/define.js';
import { backoffDelay, isRetryable, resolveRetryPolicy } from '../../src/pipelines/retry-policy.js';

it('layers step options over pipeline options over defaults', () => {
  const p = resolveRetryPolicy({ attempts: 5, initialMs: 100 }, { attempts: 8 });
  assert.deepEqual(p, { attempts: 8, initialMs: 100, factor: 2, maxMs: 10_000, jitter: true, nonRetryable: [] });
});

it('grows delays exponentially up to the cap; jitter stays within [d/2, d]', () => {
  const p = resolveRetryPolicy({ initialMs: 100, factor: 2, maxMs: 500, jitter: false });
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(p, n)), [100, 200, 400, 500, 500]);
  const j = resolveRetryPolicy({ initialMs: 100, factor: 2, jitter: true });
  assert.equal(backoffDelay(j, 2, () => 0), 100);
  assert.equal(backoffDelay(j, 2, () => 1), 200);
});

it('knows which errors are not retryable', () => {
  const p = resolveRetryPolicy({ nonRetryable: ['ValidationError', 'ENOTFOUND'] });
  assert.equal(isRetryable(p, new Error('x')), true);
  assert.equal(isRetryable(p, new NonRetryableError('x')), false);
  assert.equal(isRetryable(p, Object.assign(new Error('x'), { name: 'ValidationError' })), false);
  assert.equal(isRetryable(p, Object.assign(new Error('x'), { code: 'ENOTFOUND' })), false);
});
