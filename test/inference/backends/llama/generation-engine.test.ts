/**
 * Continuous batching over N sequences of one context: batched generation gives the same greedy
 * output as a lone one, requests beyond N wait, beyond the queue they are refused (429), a new
 * request joins while others generate, and a cancelled one leaves at once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ForjaError } from '../../../../src/errors.js';
import { createLlamaLoader } from '../../../../src/inference/backends/llama/index.js';
import type { LanguageModel } from '../../../../src/inference/types.js';
import { writeTinyLlamaGguf } from '../../../helpers/gguf-writer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'forja-engine-'));
let model: LanguageModel;

before(async () => {
  const loader = createLlamaLoader({ registry: new Registry(), logger: pino({ level: 'silent' }) });
  const file = writeTinyLlamaGguf(path.join(dir, 'tiny.gguf'), { contextLength: 4096 });
  model = await loader.load({ name: 'tiny', version: '1', path: file, format: 'gguf', config: { threads: 1, parallel: 2, max_waiting: 1, context_size: 4096 } }, { preferGpu: false });
});
after(async () => {
  await model.unload();
  rmSync(dir, { recursive: true, force: true });
});

const greedy = (prompt: string, maxTokens = 24) => ({ prompt, maxTokens, temperature: 0 });

test('sequences decoded together give exactly the output each gives alone', async () => {
  const prompts = ['the cat', 'once upon a time there was', 'hello'];
  const alone = [];
  for (const p of prompts) alone.push(await model.complete(greedy(p)));
  // Two run together, the third waits and joins when one finishes.
  const together = await Promise.all(prompts.map((p) => model.complete(greedy(p))));
  assert.deepEqual(together.map((r) => r.text), alone.map((r) => r.text));
  const counts = (r: { usage: { promptTokens: number; completionTokens: number } }) => [r.usage.promptTokens, r.usage.completionTokens];
  assert.deepEqual(together.map(counts), alone.map(counts));
});

test('beyond the sequences and the waiting queue, a request is refused with 429 and Retry-After', async () => {
  const long = { prompt: 'the dog', maxTokens: 3000, temperature: 1 };
  const controller = new AbortController();
  const running = [await model.start(long, controller.signal), await model.start(long, controller.signal)];
  const waiting = await model.start(greedy('a'), controller.signal);
  await assert.rejects(model.start(greedy('b')), (err: unknown) => {
    assert.ok(err instanceof ForjaError);
    assert.equal(err.statusCode, 429);
    assert.equal(err.headers['retry-after'], '1');
    return true;
  });
  controller.abort();
  // Cancelled generations end without an 'end' event.
  for (const g of [...running, waiting]) {
    const events = [];
    for await (const e of g) events.push(e);
    assert.ok(events.every((e) => e.type === 'text'));
  }
});

test('leaving a generation early frees its sequence for the queue', async () => {
  const a = await model.start({ prompt: 'the dog', maxTokens: 3000, temperature: 1 });
  const b = await model.start({ prompt: 'the cat', maxTokens: 3000, temperature: 1 });
  const queued = model.complete(greedy('hello', 4));
  for await (const _ of a) break; // abandons a
  const result = await queued; // both sequences were taken: it runs on the one a gave back
  assert.ok(result.usage.completionTokens >= 1);
  for await (const _ of b) break;
});

test('a request joins while another is generating, and its answer is unaffected', async () => {
  const expected = await model.complete(greedy('hello world', 8));
  const long = await model.start({ prompt: 'the dog', maxTokens: 400, temperature: 0 });
  const iterator = long[Symbol.asyncIterator]();
  const first = await iterator.next(); // the long one is generating now
  assert.equal(first.done, false);
  const joined = await model.complete(greedy('hello world', 8));
  assert.equal(joined.text, expected.text);
  await iterator.return?.(); // leaving the iteration cancels the long one
});

test('an aborted signal before start ends the generation with no events', async () => {
  const controller = new AbortController();
  controller.abort();
  const g = await model.start(greedy('hi'), controller.signal);
  const events = [];
  for await (const e of g) events.push(e);
  assert.deepEqual(events, []);
});
