/** The official openai client against /v1/completions, whole and streamed. */
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

test('a completion continues the prompt and counts its tokens', async () => {
  const res = await client.completions.create({ model: 'tiny', prompt: 'once upon a time', max_tokens: 6, temperature: 0 });
  assert.equal(res.object, 'text_completion');
  assert.match(res.id, /^cmpl-/);
  assert.equal(res.choices[0].index, 0);
  assert.equal(typeof res.choices[0].text, 'string');
  // BOS + the prompt's tokens.
  const model = server.source.models.get('tiny') as import('../../../src/inference/types.js').LanguageModel;
  assert.equal(res.usage!.prompt_tokens, model.tokenize('once upon a time').length + 1);
  assert.ok(res.usage!.completion_tokens <= 6);
});

test('a streamed completion adds up to the whole one', async () => {
  const whole = await client.completions.create({ model: 'tiny', prompt: ['the dog'], max_tokens: 10, temperature: 0 });
  const stream = await client.completions.create({ model: 'tiny', prompt: 'the dog', max_tokens: 10, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'text_completion');
    if (chunk.usage) usage = chunk.usage;
    if (chunk.choices.length === 0) continue;
    text += chunk.choices[0].text;
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  assert.equal(text, whole.choices[0].text);
  assert.equal(finish, whole.choices[0].finish_reason);
  // The same counts; how many prompt tokens came from the prefix cache depends on what ran before.
  const counts = (u: OpenAI.CompletionUsage | null | undefined) => u && { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens };
  assert.deepEqual(counts(usage), counts(whole.usage));
  assert.equal(typeof usage?.prompt_tokens_details?.cached_tokens, 'number');
});

test('json_object response_format is enforced by a grammar', async () => {
  const res = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'json please' }], response_format: { type: 'json_object' }, max_tokens: 60, temperature: 0 });
  if (res.choices[0].finish_reason === 'stop') assert.doesNotThrow(() => JSON.parse(res.choices[0].message.content ?? ''));
  else assert.match(res.choices[0].message.content ?? '', /^\s*[{[]/);
});

test('json_schema response_format produces that schema', async () => {
  const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false };
  const res = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'answer' }], response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } }, max_tokens: 40, temperature: 0 });
  assert.equal(res.choices[0].finish_reason, 'stop');
  const value = JSON.parse(res.choices[0].message.content ?? '');
  assert.equal(typeof value.ok, 'boolean');
  assert.deepEqual(Object.keys(value), ['ok']);
});
