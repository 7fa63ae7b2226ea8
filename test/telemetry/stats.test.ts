import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { median, percentile, round } from '../../src/telemetry/stats.js';

describe('percentile', () => {
  test('nearest rank over unsorted samples', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1
    assert.equal(percentile(xs, 50), 50);
    assert.equal(percentile(xs, 95), 95);
    assert.equal(percentile(xs, 99), 99);
    assert.equal(percentile(xs, 100), 100);
    assert.equal(percentile(xs, 0), 1);
  });

  test('a small sample: the rank rounds up to a real sample', () => {
    assert.equal(percentile([3, 1, 2], 50), 2);
    assert.equal(percentile([3, 1, 2], 99), 3);
    assert.equal(percentile([7], 99), 7);
  });

  test('no samples is NaN, not undefined', () => {
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  test('leaves its input unsorted', () => {
    const xs = [3, 1, 2];
    percentile(xs, 50);
    assert.deepEqual(xs, [3, 1, 2]);
  });
});

describe('median', () => {
  test('odd count: the middle sample', () => {
    assert.equal(median([5, 1, 3]), 3);
  });

  test('even count: the mean of the two middle samples', () => {
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  test('no samples is NaN', () => {
    assert.ok(Number.isNaN(median([])));
  });
});

test('round keeps the given decimals', () => {
  assert.equal(round(1.23456), 1.235);
  assert.equal(round(1.25, 1), 1.3);
  assert.equal(round(1234.5, 0), 1235);
});
