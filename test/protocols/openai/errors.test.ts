/**
 * Bad input answers in OpenAI's error shape with the right status, and the official client
 * surfaces each as an APIError of that status. No bad request reaches the runtime as a 5xx.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createOnnxLoader } from '../../../src/inference/backends/onnx/index.js';
import { ServingMetrics } from '../../../src/telemetry/metrics.js';
import { writeAddModel } from '../../helpers/onnx-models.js';
import { gguf, startLlmServer, type LlmServer } from './helpers/llm-server.js';
import path from 'node:path';

let server: LlmServer;
let client: OpenAI;
const CONTEXT = 64;

before(async () => {
  server = await startLlmServer();
  await server.load('tiny', gguf(server.dir), { context_size: CONTEXT, parallel: 2 });
  const onnxPath = path.join(server.dir, 'add.onnx');
  writeAddModel(onnxPath);
  const onnx = createOnnxLoader({ threads: 1, instances: 1, execution: 'inline', spinning: false, executionProviders: ['cpu'], logger: pino({ level: 'silent' }), metrics: new ServingMetrics(new Registry()) });
  server.source.add('classifier', await onnx.load({ name: 'classifier', version: '1', path: onnxPath, format: 'onnx', config: {} }, { preferGpu: false }));
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
});
after(() => server.close());

async function post(route: string, body: string | object): Promise<{ status: number; body: { error: { message: string; type: string; param: string | null; code: string | null } } }> {
  const res = await fetch(`${server.baseURL}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json() as never };
}

function assertShape(body: { error: Record<string, unknown>; code?: unknown }): void {
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  assert.match(String(body.code), /^FORJA_ERR_[A-Z_]+$/, 'the top-level code is the catalogued one');
  assert.equal(typeof body.error.message, 'string');
}

const hello = [{ role: 'user', content: 'hello' }];

test('malformed JSON is 400 invalid_request_error', async () => {
  const r = await post('/chat/completions', '{"model": "tiny", "messages": [');
  assert.equal(r.status, 400);
  assertShape(r.body);
  assert.equal(r.body.error.type, 'invalid_request_error');
});

test('an unknown model is 404 model_not_found (and an APIError 404 in the client)', async () => {
  const r = await post('/chat/completions', { model: 'nope', messages: hello });
  assert.equal(r.status, 404);
  assertShape(r.body);
  assert.equal(r.body.error.code, 'model_not_found');
  await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }), (err: unknown) => {
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.status, 404);
    assert.equal(err.code, 'model_not_found');
    return true;
  });
});

test('missing or empty messages and prompt are 400', async () => {
  for (const [route, body, param] of [
    ['/chat/completions', { model: 'tiny' }, 'messages'],
    ['/chat/completions', { model: 'tiny', messages: [] }, 'messages'],
    ['/completions', { model: 'tiny' }, 'prompt'],
    ['/completions', { model: 'tiny', prompt: '' }, 'prompt'],
  ] as const) {
    const r = await post(route, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assertShape(r.body);
    assert.equal(r.body.error.param, param);
  }
});

test('an invalid role is 400 naming the role', async () => {
  const r = await post('/chat/completions', { model: 'tiny', messages: [{ role: 'wizard', content: 'hi' }] });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.param, 'messages[0].role');
  assert.match(r.body.error.message, /wizard/);
});

test('max_tokens below 1 or beyond the context is 400', async () => {
  for (const max_tokens of [0, -3, CONTEXT + 1]) {
    const r = await post('/chat/completions', { model: 'tiny', messages: hello, max_tokens });
    assert.equal(r.status, 400, String(max_tokens));
    assert.equal(r.body.error.param, 'max_tokens');
  }
});

test('a prompt longer than the context is 400 context_length_exceeded', async () => {
  const long = 'the cat and the dog '.repeat(40);
  for (const [route, body] of [['/completions', { model: 'tiny', prompt: long }], ['/chat/completions', { model: 'tiny', messages: [{ role: 'user', content: long }] }]] as const) {
    const r = await post(route, body);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'context_length_exceeded');
  }
  await assert.rejects(client.completions.create({ model: 'tiny', prompt: long }), (err: unknown) => err instanceof OpenAI.BadRequestError && err.code === 'context_length_exceeded');
});

test('an ONNX model named in a chat request is 400: not a language model', async () => {
  const r = await post('/chat/completions', { model: 'classifier', messages: hello });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /not a language model/);
  assert.equal(r.body.error.param, 'model');
  const e = await post('/embeddings', { model: 'classifier', input: 'x' });
  assert.equal(e.status, 400);
});

test('unsupported parameters answer 400 saying so, never silently ignored', async () => {
  for (const [body, param] of [
    [{ n: 2 }, 'n'],
    [{ logprobs: true }, 'logprobs'],
    [{ tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools'],
    [{ logit_bias: { 5: 10 } }, 'logit_bias'],
  ] as const) {
    const r = await post('/chat/completions', { model: 'tiny', messages: hello, ...body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error.param, param);
    assert.match(r.body.error.message, /not supported/);
  }
  const image = await post('/chat/completions', { model: 'tiny', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] }] });
  assert.equal(image.status, 400);
  const unknown = await post('/chat/completions', { model: 'tiny', messages: hello, frobnicate: 1 });
  assert.equal(unknown.status, 400);
  assert.match(unknown.body.error.message, /Unrecognized request argument supplied: frobnicate/);
  // n: 1 and an empty tools list change nothing and are accepted.
  const ok = await post('/chat/completions', { model: 'tiny', messages: hello, n: 1, max_tokens: 1 });
  assert.equal(ok.status, 200);
});

test('out-of-range sampling values are 400', async () => {
  for (const body of [{ temperature: 3 }, { top_p: 0 }, { presence_penalty: 5 }, { stop: ['a', 'b', 'c', 'd', 'e'] }, { seed: 1.5 }]) {
    const r = await post('/chat/completions', { model: 'tiny', messages: hello, ...body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assertShape(r.body);
  }
});

test('every failed request released its model', () => {
  assert.equal(server.source.leases, 0);
});
