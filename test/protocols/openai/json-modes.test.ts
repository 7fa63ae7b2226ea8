/**
 * response_format through the official openai client on real GGUF models: a schema the grammar
 * cannot enforce is 400 unsupported_parameter naming the keyword (it used to be ignored), a JSON
 * answer ends when its value is complete (no run of newlines until max_tokens), and an answer
 * with finish_reason "stop" is always valid JSON.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { SHARED_MODELS } from '../../helpers/server-process.js';
import { gguf, startLlmServer, type LlmServer } from './helpers/llm-server.js';

// A trained model: greedy decoding after the JSON value keeps producing the grammar's newlines.
const STORIES = path.join(SHARED_MODELS, 'gguf/stories260K.gguf');

let server: LlmServer;
let client: OpenAI;
const models = ['tiny'];

before(async () => {
  server = await startLlmServer();
  await server.load('tiny', gguf(server.dir, 'tiny.gguf'), { context_size: 512 });
  if (existsSync(STORIES)) {
    copyFileSync(STORIES, path.join(server.dir, 'stories.gguf'));
    await server.load('stories', path.join(server.dir, 'stories.gguf'), { context_size: 512 });
    models.push('stories');
  }
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
});
after(() => server.close());

const SCHEMA = { type: 'object', properties: { color: { enum: ['red', 'green', 'blue'] }, ok: { type: 'boolean' } }, required: ['color', 'ok'], additionalProperties: false };
const FORMATS = [
  { type: 'json_object' as const },
  { type: 'json_schema' as const, json_schema: { name: 'answer', schema: SCHEMA, strict: true } },
];

async function refused(schema: unknown, message: RegExp): Promise<void> {
  await assert.rejects(
    client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'json' }], max_tokens: 5, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: schema as Record<string, unknown> } } }),
    (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError, String(err));
      assert.equal(err.status, 400);
      assert.equal(err.code, 'unsupported_parameter');
      assert.equal(err.param, 'response_format');
      assert.match(err.message, message);
      return true;
    },
  );
}

test('a schema the grammar cannot enforce is 400 unsupported_parameter naming the keyword', async () => {
  await refused({ type: 'bogus' }, /schema\.type .*unknown type "bogus"/);
  await refused({ type: 'object', properties: { a: { $ref: '#/$defs/missing' } } }, /properties\.a\.\$ref .*does not exist/);
  await refused({ $ref: '#/definitions/a', definitions: { a: { type: 'string' } } }, /definitions .*\$defs/);
  await refused({ type: 'string', pattern: '^a+$' }, /schema\.pattern .*"pattern" is not supported/);
  await refused({ type: 'object', properties: { n: { type: 'integer', minimum: 3 } } }, /properties\.n\.minimum/);
  await refused({ type: 'string', format: 'email' }, /format "email" is not supported/);
  await refused({ properties: { a: { type: 'string' } } }, /"properties" applies to type "object" only/);
  await refused({ type: 'object', properties: { a: { type: 'string' } }, required: ['b'] }, /required names "b"/);
  await refused({ type: ['object', 'null'] }, /list of types may hold only/);
  await refused({ type: 'object', allOf: [] }, /"allOf" is not supported/);
  await refused({ not: { type: 'string' } }, /"not" is not supported/);
  await refused({ type: 'string', maxLength: 100_000 }, /maxLength is 100000, more than/);
});

test('a schema beyond the size limits is refused before any grammar is built', async () => {
  await refused({ enum: Array.from({ length: 30_000 }, (_, i) => `value-${i}`) }, /enum has 30000 values, more than/);
  let deep: Record<string, unknown> = { type: 'string' };
  for (let i = 0; i < 11; i++) deep = { type: 'object', properties: { x: deep }, required: ['x'] };
  await refused(deep, /nests deeper than 10 levels/);
  const wide = { type: 'object', properties: Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`p${i}`, { type: 'string' }])) };
  await refused(wide, /more than 500 nodes/);
});

test('what the grammar supports is accepted: anyOf, $defs references, string formats, type lists', async () => {
  const schema = {
    type: 'object',
    $defs: { flag: { type: 'boolean' } },
    properties: { a: { anyOf: [{ type: 'string', maxLength: 4 }, { type: 'null' }] }, b: { $ref: '#/$defs/flag' }, c: { type: ['number', 'null'] }, d: { type: 'string', format: 'date' } },
    required: ['a', 'b', 'c', 'd'],
    additionalProperties: false,
    title: 'annotations are fine',
  };
  const res = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'json' }], max_tokens: 120, temperature: 0, response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } });
  if (res.choices[0].finish_reason === 'stop') {
    const value = JSON.parse(res.choices[0].message.content ?? '') as Record<string, unknown>;
    assert.equal(typeof value.b, 'boolean');
    assert.match(String(value.d), /^\d{4}-\d{2}-\d{2}$/);
  }
});

test('JSON answers end when the value is complete: finish_reason stop, valid JSON, no trailing whitespace', async () => {
  let stops = 0;
  for (const model of models) {
    for (const response_format of FORMATS) {
      for (const [seed, temperature] of [[1, 0], [2, 0.8], [3, 0.8], [4, 0.8]]) {
        const request = { model, messages: [{ role: 'user' as const, content: 'Answer in JSON.' }], max_tokens: 300, temperature, seed, response_format };
        const res = await client.chat.completions.create(request);
        const content = res.choices[0].message.content ?? '';
        const what = `${model} ${response_format.type} seed ${seed}: ${res.choices[0].finish_reason} after ${res.usage?.completion_tokens} tokens: ${JSON.stringify(content.slice(-40))}`;
        if (res.choices[0].finish_reason === 'stop') {
          stops++;
          assert.doesNotThrow(() => JSON.parse(content), what);
          assert.equal(content, content.trimEnd(), what);
        } else {
          assert.equal(res.usage?.completion_tokens, 300, what);
        }
        if (response_format.type === 'json_schema') {
          // This schema's values are short: it always completes well within max_tokens.
          assert.equal(res.choices[0].finish_reason, 'stop', what);
          assert.ok(res.usage!.completion_tokens < 60, what);
          assert.deepEqual(Object.keys(JSON.parse(content) as object).sort(), ['color', 'ok']);
        }
        // The stream carries the same text, trailing whitespace held back and dropped the same way.
        const stream = await client.chat.completions.create({ ...request, stream: true });
        let streamed = '';
        for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
        assert.equal(streamed, content, what);
      }
    }
  }
  assert.ok(stops > 0);
});

test('a JSON answer cut by max_tokens says length, and stop sequences cannot cut a JSON answer', async () => {
  const res = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'json' }], max_tokens: 3, temperature: 0, response_format: FORMATS[1] });
  assert.equal(res.choices[0].finish_reason, 'length');
  await assert.rejects(
    client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'json' }], max_tokens: 30, stop: ['}'], response_format: FORMATS[0] }),
    (err: unknown) => err instanceof OpenAI.APIError && err.status === 400 && err.code === 'unsupported_parameter' && err.param === 'stop',
  );
  assert.equal(server.source.leases, 0);
});
