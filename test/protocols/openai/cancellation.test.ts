/**
 * A client that goes away cancels its generation and frees its sequence at once: the aborted
 * request stops short of the max_tokens it would otherwise generate (greedy decoding runs this prompt
 * to the end, as the first test shows), and with a single sequence a request queued behind it starts
 * and completes.
 */
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import type { LanguageModel } from '../../../src/inference/types.js';
import { gguf, startLlmServer, type LlmServer } from './helpers/llm-server.js';

let server: LlmServer;
let client: OpenAI;
let model: LanguageModel;

before(async () => {
  server = await startLlmServer();
  // One sequence and a long context: an unaborted stream would hold it for thousands of tokens.
  model = await server.load('tiny', gguf(server.dir, 'tiny.gguf', { contextLength: 8192 }), { parallel: 1, context_size: 8192 }) as LanguageModel;
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
});
after(() => server.close());

const MAX_TOKENS = 1000;

/** Tokens this model has generated so far (counted as each one is produced). */
async function generatedTokens(): Promise<number> {
  const counter = server.registry.getSingleMetric('forja_llm_completion_tokens_total')!;
  return (await counter.get()).values.find((v) => v.labels.model === 'tiny')?.value ?? 0;
}

async function untilIdle(): Promise<void> {
  const running = server.registry.getSingleMetric('forja_llm_requests_running')!;
  while (((await running.get()).values.find((v) => v.labels.model === 'tiny')?.value ?? 0) !== 0) await nextTurn();
}

// Greedy decoding is deterministic: left alone, this prompt runs to max_tokens (the first test checks
// that), so an aborted request that generated fewer tokens was stopped by the abort, not by its end.
const PROMPT = 'the dog';

test('left alone, the prompt generates all its max_tokens', async () => {
  const whole = await client.completions.create({ model: 'tiny', prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: 0 });
  assert.equal(whole.choices[0].finish_reason, 'length');
  assert.equal(whole.usage!.completion_tokens, MAX_TOKENS);
});

test('aborting a stream frees the sequence for the next request', async () => {
  const controller = new AbortController();
  const before = await generatedTokens();
  const stream = await client.completions.create({ model: 'tiny', prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: 0, stream: true }, { signal: controller.signal });
  let received = 0;
  // The client ends the iteration quietly on abort (or throws an abort error, depending on timing).
  try {
    for await (const chunk of stream) {
      if (chunk.choices[0]?.text) received++;
      if (received === 3) controller.abort();
    }
  } catch (err) {
    assert.ok(err instanceof OpenAI.APIUserAbortError || (err as Error).name === 'AbortError', String(err));
  }
  assert.equal(received, 3);
  await untilIdle();
  const aborted = (await generatedTokens()) - before;
  assert.ok(aborted >= 3 && aborted < MAX_TOKENS, `the aborted stream generated ${aborted} of ${MAX_TOKENS} tokens`);
  // This one waits for the only sequence; it completes only if the aborted stream let go of it.
  const next = await client.completions.create({ model: 'tiny', prompt: 'the cat', max_tokens: 4, temperature: 0 });
  assert.ok(next.usage!.completion_tokens >= 1);
  assert.equal(server.source.leases, 0);
});

test('aborting a non-streaming request cancels it too', async () => {
  const controller = new AbortController();
  const before = await generatedTokens();
  const pending = client.completions.create({ model: 'tiny', prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: 0 }, { signal: controller.signal });
  // Abort once the generation holds the sequence (the engine's running gauge says so).
  const running = server.registry.getSingleMetric('forja_llm_requests_running')!;
  while ((await running.get()).values.find((v) => v.labels.model === 'tiny')?.value !== 1) await nextTurn();
  controller.abort();
  await assert.rejects(pending, (err: unknown) => err instanceof OpenAI.APIUserAbortError);
  await untilIdle();
  const aborted = (await generatedTokens()) - before;
  assert.ok(aborted < MAX_TOKENS, `the aborted request generated ${aborted} of ${MAX_TOKENS} tokens`);
  assert.equal(model.info.parallel, 1, 'one sequence, so the next request needs the one the aborted request held');
  const next = await client.completions.create({ model: 'tiny', prompt: 'the cat', max_tokens: 2, temperature: 0 });
  assert.equal(next.usage!.completion_tokens, 2);
  assert.equal(server.source.leases, 0);
});
