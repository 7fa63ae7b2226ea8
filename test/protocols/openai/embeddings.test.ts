/** /v1/embeddings with the official client: one input or many, float or base64 (the client's default). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { gguf, startLlmServer, type LlmServer } from './helpers/llm-server.js';

let server: LlmServer;
let client: OpenAI;

before(async () => {
  server = await startLlmServer();
  await server.load('tiny', gguf(server.dir));
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
});
after(() => server.close());

test('float and base64 encodings carry the same vectors', async () => {
  const asFloat = await client.embeddings.create({ model: 'tiny', input: ['the cat', 'a dog'], encoding_format: 'float' });
  // Without encoding_format the client asks for base64 and decodes it itself.
  const asBase64 = await client.embeddings.create({ model: 'tiny', input: ['the cat', 'a dog'] });
  assert.equal(asFloat.object, 'list');
  assert.equal(asFloat.data.length, 2);
  assert.equal(asFloat.data[1].index, 1);
  assert.equal(asFloat.data[0].embedding.length, 32); // the generated model's embedding width
  for (let i = 0; i < 2; i++) {
    const a = asFloat.data[i].embedding;
    const b = asBase64.data[i].embedding;
    assert.equal(b.length, a.length);
    for (let j = 0; j < a.length; j++) assert.equal(Math.fround(a[j]), b[j]);
  }
  assert.ok(asFloat.usage.prompt_tokens > 0);
  assert.equal(asFloat.usage.total_tokens, asFloat.usage.prompt_tokens);
});

test('a single string gives one vector; different texts differ', async () => {
  const one = await client.embeddings.create({ model: 'tiny', input: 'the cat', encoding_format: 'float' });
  const other = await client.embeddings.create({ model: 'tiny', input: 'hello world', encoding_format: 'float' });
  assert.equal(one.data.length, 1);
  assert.notDeepEqual(one.data[0].embedding, other.data[0].embedding);
});

test('token arrays and dimensions are refused with 400', async () => {
  await assert.rejects(client.embeddings.create({ model: 'tiny', input: [[1, 2, 3]] as never }), (e: unknown) => e instanceof OpenAI.BadRequestError);
  await assert.rejects(client.embeddings.create({ model: 'tiny', input: 'x', dimensions: 8 }), (e: unknown) => e instanceof OpenAI.BadRequestError && /dimensions/.test(e.message));
});
