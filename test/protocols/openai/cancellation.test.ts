/**
 * A client that goes away cancels its generation and frees its sequence at once: with a single
 * sequence, a request queued behind an aborted stream starts and completes.
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

test('aborting a stream frees the sequence for the next request', async () => {
  const controller = new AbortController();
  const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'go on forever' }], max_tokens: 8000, temperature: 1, stream: true }, { signal: controller.signal });
  let received = 0;
  // The client ends the iteration quietly on abort (or throws an abort error, depending on timing).
  try {
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) received++;
      if (received === 3) controller.abort();
    }
  } catch (err) {
    assert.ok(err instanceof OpenAI.APIUserAbortError || (err as Error).name === 'AbortError', String(err));
  }
  assert.equal(received, 3);
  // This one waits for the only sequence; it completes only if the aborted stream let go of it.
  const next = await client.completions.create({ model: 'tiny', prompt: 'the cat', max_tokens: 4, temperature: 0 });
  assert.ok(next.usage!.completion_tokens >= 1);
  assert.equal(server.source.leases, 0);
});

test('aborting a non-streaming request cancels it too', async () => {
  const controller = new AbortController();
  const pending = client.completions.create({ model: 'tiny', prompt: 'the dog', max_tokens: 8000, temperature: 1 }, { signal: controller.signal });
  // Abort once the generation holds the sequence (the engine's running gauge says so).
  const running = server.registry.getSingleMetric('forja_llm_requests_running')!;
  while ((await running.get()).values.find((v) => v.labels.model === 'tiny')?.value !== 1) await nextTurn();
  controller.abort();
  await assert.rejects(pending, (err: unknown) => err instanceof OpenAI.APIUserAbortError);
  const next = await client.completions.create({ model: 'tiny', prompt: 'the cat', max_tokens: 2, temperature: 0 });
  assert.ok(next.choices[0].text.length >= 0);
  assert.equal(model.info.parallel, 1);
});
