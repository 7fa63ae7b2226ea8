/** Stop sequences split across deltas are found, and no part of one is ever emitted. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StopMatcher } from '../../../../src/inference/backends/llama/stop-matcher.js';

function run(stops: string[], deltas: string[]): { out: string; stopped: boolean } {
  const m = new StopMatcher(stops);
  let out = '';
  for (const d of deltas) {
    const r = m.push(d);
    out += r.text;
    if (r.stopped) return { out, stopped: true };
  }
  return { out: out + m.flush(), stopped: false };
}

test('a stop sequence split over deltas stops before it', () => {
  assert.deepEqual(run(['END'], ['hello E', 'N', 'D more']), { out: 'hello ', stopped: true });
});

test('a near miss is released once it cannot be a stop', () => {
  assert.deepEqual(run(['END'], ['hello EN', 'X world']), { out: 'hello ENX world', stopped: false });
});

test('the earliest of several stops wins; held text is flushed at the end', () => {
  assert.deepEqual(run(['bb', 'a'], ['xxbba']), { out: 'xx', stopped: true });
  assert.deepEqual(run(['STOP'], ['abc', 'ST']), { out: 'abcST', stopped: false });
});

test('no stops: everything passes at once', () => {
  const m = new StopMatcher([]);
  assert.deepEqual(m.push('abc'), { text: 'abc', stopped: false });
});
