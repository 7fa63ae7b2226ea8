/**
 * A model whose model.yaml points at another OpenAI-compatible server: Forja forwards the API to
 * it, streams included. The upstream here is real: Forja's own OpenAI routes on another Fastify
 * instance serving a generated GGUF.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { pino } from 'pino';
import { createExternalLoader } from '../../../../src/inference/backends/external/index.js';
import { gguf, startLlmServer, type LlmServer } from '../../../protocols/openai/helpers/llm-server.js';

let upstream: LlmServer;
let front: LlmServer;
let client: OpenAI;
let direct: OpenAI;

before(async () => {
  upstream = await startLlmServer();
  await upstream.load('tiny-upstream', gguf(upstream.dir));
  front = await startLlmServer();
  const loader = createExternalLoader({ logger: pino({ level: 'silent' }), env: { UPSTREAM_KEY: 'secret' } });
  const source = { name: 'remote', version: '1', path: '', format: 'external' as const };
  front.source.add('remote', await loader.load({ ...source, config: { backend: { type: 'openai', url: upstream.baseURL, model: 'tiny-upstream', api_key_env: 'UPSTREAM_KEY' } } }, { preferGpu: false }));
  front.source.add('gone', await loader.load({ ...source, config: { backend: { type: 'openai', url: 'http://127.0.0.1:9/v1' } } }, { preferGpu: false }));
  client = new OpenAI({ baseURL: front.baseURL, apiKey: 'unused', maxRetries: 0 });
  direct = new OpenAI({ baseURL: upstream.baseURL, apiKey: 'unused', maxRetries: 0 });
});
after(async () => { await front.close(); await upstream.close(); });

const ask = { messages: [{ role: 'user' as const, content: 'hello' }], max_tokens: 8, temperature: 0 };

test('a chat answer through the proxy is the upstream answer', async () => {
  const viaProxy = await client.chat.completions.create({ model: 'remote', ...ask });
  const straight = await direct.chat.completions.create({ model: 'tiny-upstream', ...ask });
  assert.equal(viaProxy.choices[0].message.content, straight.choices[0].message.content);
  // The same token counts; cached_tokens differs because the second call finds the first one's prompt cached upstream.
  const counts = (u: typeof viaProxy.usage) => u && [u.prompt_tokens, u.completion_tokens, u.total_tokens];
  assert.deepEqual(counts(viaProxy.usage), counts(straight.usage));
});

test('a stream through the proxy arrives as chunks and adds up to the answer', async () => {
  const straight = await direct.chat.completions.create({ model: 'tiny-upstream', ...ask });
  let text = '';
  let chunks = 0;
  for await (const chunk of await client.chat.completions.create({ model: 'remote', ...ask, stream: true })) {
    chunks++;
    text += chunk.choices[0]?.delta.content ?? '';
  }
  assert.ok(chunks > 2);
  assert.equal(text, straight.choices[0].message.content);
});

test('completions and embeddings are proxied too', async () => {
  const c = await client.completions.create({ model: 'remote', prompt: 'the cat', max_tokens: 3, temperature: 0 });
  assert.equal(c.object, 'text_completion');
  const e = await client.embeddings.create({ model: 'remote', input: 'the cat', encoding_format: 'float' });
  assert.equal(e.data[0].embedding.length, 32);
});

test("the upstream's client errors keep their status and body", async () => {
  await assert.rejects(client.chat.completions.create({ model: 'remote', ...ask, max_tokens: 100000 }), (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'max_tokens');
});

test('an upstream that cannot be reached is 502 upstream_failed', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'gone', ...ask }), (err: unknown) => err instanceof OpenAI.APIError && err.status === 502 && err.code === 'upstream_failed');
  assert.equal(front.source.leases, 0);
});
