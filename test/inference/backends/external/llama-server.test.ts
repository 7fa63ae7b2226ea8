/**
 * llama.cpp's llama-server as a child process behind Forja (only when LLAMA_SERVER_BIN names a
 * binary): started, healthy, proxied, and restarted after it dies.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { pino } from 'pino';
import { LlamaServerProcess } from '../../../../src/inference/backends/external/index.js';
import { OpenAIUpstreamModel } from '../../../../src/inference/backends/external/index.js';
import { gguf, startLlmServer, type LlmServer } from '../../../protocols/openai/helpers/llm-server.js';

const BIN = process.env.LLAMA_SERVER_BIN;
const skip = BIN ? false : 'LLAMA_SERVER_BIN is not set';
let front: LlmServer;
let server: LlamaServerProcess;

before(async () => {
  if (!BIN) return;
  front = await startLlmServer();
  server = new LlamaServerProcess({ binary: BIN, model: gguf(front.dir), threads: 1, parallel: 2, contextSize: 256, logger: pino({ level: 'silent' }), healthIntervalMs: 200 });
  await server.start();
  front.source.add('ls', new OpenAIUpstreamModel({ baseUrl: () => server.baseUrl, ready: () => server.assertReady(), onUnload: () => server.stop() }));
});
after(async () => { if (BIN) await front.close(); });

test('chat through llama-server, whole and streamed', { skip }, async () => {
  const client = new OpenAI({ baseURL: front.baseURL, apiKey: 'unused', maxRetries: 0 });
  const whole = await client.chat.completions.create({ model: 'ls', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, temperature: 0 });
  assert.ok(whole.usage!.completion_tokens >= 1);
  let chunks = 0;
  for await (const _ of await client.chat.completions.create({ model: 'ls', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, stream: true })) chunks++;
  assert.ok(chunks >= 2);
});

test('a killed llama-server is restarted', { skip }, async () => {
  const first = server.pid;
  const restarted = once(server, 'ready');
  process.kill(first!, 'SIGKILL');
  await restarted;
  assert.equal(server.restarts, 1);
  assert.notEqual(server.pid, first);
  const client = new OpenAI({ baseURL: front.baseURL, apiKey: 'unused', maxRetries: 0 });
  const again = await client.completions.create({ model: 'ls', prompt: 'the cat', max_tokens: 2 });
  assert.ok(again.usage!.completion_tokens >= 1);
});
