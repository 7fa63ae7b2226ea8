/** The target table of `forja bench`: every object with `met` in any benchmark's JSON is a row. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectTargets, formatTargets } from '../../src/benchmarking/targets.js';

const report = {
  serving: { latency: { added_p50_ms: 0.9, target_added_p50_ms: 0.23, met: false }, batching: [{ vs_direct_best: 0.85, met: true }] },
  'llm-conversation': { models: { stories260K: { targets: [{ target: 'turn 10 TTFT within 2x of turn 1', figure: 1.4, limit: 2, met: true }] } } },
  config: { median: { load: 12 }, met: { load: true, validate: false } },
  jobs: { note: 'no met here', nested: { met: 'yes' } },
};

test('every met flag becomes a row with its path, its words, and the figure and limit beside it', () => {
  const rows = collectTargets(report);
  assert.deepEqual(rows.map((r) => [r.path, r.met]), [
    ['serving.latency', false],
    ['serving.batching.0', true],
    ['llm-conversation.models.stories260K.targets.0', true],
    ['config.met.load', true],
    ['config.met.validate', false],
  ]);
  assert.deepEqual(rows[0], { path: 'serving.latency', target: 'serving.latency', figure: 0.9, limit: 0.23, peer: undefined, met: false });
  assert.equal(rows[1].figure, 0.85);
  assert.equal(rows[2].target, 'turn 10 TTFT within 2x of turn 1');
  assert.equal(rows[2].limit, 2);
});

test('the printed table marks unmet targets and counts them', () => {
  const text = formatTargets(collectTargets(report));
  assert.match(text, /^met\s+figure\s+limit\s+peer\s+target/);
  assert.match(text, /\nNO\s+0\.9\s+0\.23\s+-\s+serving\.latency\n/);
  assert.match(text, /turn 10 TTFT within 2x of turn 1 {2}\[llm-conversation\.models\.stories260K\.targets\.0\]/);
  assert.match(text, /3 of 5 targets met\n$/);
  assert.equal(formatTargets([]), 'no targets in this report\n');
});
