/** The page's formatting and its step timeline, which are pure and run here without a browser. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, deviceClass, millis, timeline } from '../../src/dashboard/ui/format.js';

test('numbers read the way an operator expects', () => {
  assert.equal(bytes(512), '512 B');
  assert.equal(bytes(1536 * 1024), '1.5 MiB');
  assert.equal(bytes(undefined), '—');
  assert.equal(millis(0.25), '250 µs');
  assert.equal(millis(12.3), '12 ms');
  assert.equal(millis(2500), '2.5 s');
  assert.equal(deviceClass('cpu'), 'CPU');
  assert.equal(deviceClass('cuda'), 'GPU (cuda)');
});

test('the timeline places steps on the span of the job', () => {
  const t0 = Date.parse('2026-01-01T00:00:00.000Z');
  const iso = (ms: number) => new Date(t0 + ms).toISOString();
  const bars = timeline([
    { name: 'a', state: 'succeeded', startedAt: iso(0), finishedAt: iso(250) },
    { name: 'b', state: 'running', startedAt: iso(250) },
    { name: 'c', state: 'retrying' },
  ], t0 + 1000);
  assert.deepEqual(bars.map((b) => [b.name, b.left, b.width]), [['a', 0, 0.25], ['b', 0.25, 0.75]]);
  assert.deepEqual(timeline([], t0), []);
});
