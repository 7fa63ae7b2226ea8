/**
 * Ollama's API through the official `ollama` client against the real server (the CLI in a child
 * process) over a repository of real GGUF files: stories260K (a trained model) copied in, a
 * generated tiny Llama with two versions, and an ONNX model that must not be listed. Listing,
 * show, ps, chat and generate (streamed and not), embeddings, JSON formats, keep_alive 0, errors
 * as the client raises them, metrics, and parity with the OpenAI routes for the same requests.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Ollama, type ChatResponse, type GenerateResponse } from 'ollama';
import OpenAI from 'openai';
import { SHARED_MODELS, startServer, type ServerProcess } from '../../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../../helpers/model-repo.js';
import { writeTinyLlamaGguf } from '../../helpers/gguf-writer.js';
import { writeAddModel } from '../../helpers/onnx-models.js';

const STORIES = path.join(SHARED_MODELS, 'gguf/stories260K.gguf');
const skip = existsSync(STORIES) ? false : `absent: ${STORIES}`;

let repo: TempRepo;
let server: ServerProcess;
let ollama: Ollama;
let openai: OpenAI;
let storiesFile: string;

before(async () => {
  if (skip) return;
  repo = tempRepo('forja-ollama-');
  storiesFile = repo.versionPath('stories', '1', 'model.gguf');
  copyFileSync(STORIES, storiesFile);
  repo.modelYaml('stories', 'context_size: 512\nparallel: 2\n');
  writeTinyLlamaGguf(repo.versionPath('tiny', '1', 'model.gguf'), { seed: 1 });
  writeTinyLlamaGguf(repo.versionPath('tiny', '2', 'model.gguf'), { seed: 2 });
  // Random weights whose greedy JSON answers end within a few dozen tokens (stories260K's do not).
  writeTinyLlamaGguf(path.join(repo.dir, 'json.gguf'));
  writeAddModel(path.join(repo.dir, 'adder.onnx'));
  // Not a GGUF: left out of the listing instead of failing it.
  writeFileSync(path.join(repo.dir, 'junk.gguf'), 'not a model');
  server = await startServer(['--models', repo.dir]);
  ollama = new Ollama({ host: server.url });
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

after(async () => {
  if (skip) return;
  assert.equal(await server.stop(), 0);
  repo.remove();
});

function assertFinal(final: GenerateResponse | ChatResponse): void {
  assert.equal(final.done, true);
  assert.ok(['stop', 'length'].includes(final.done_reason), final.done_reason);
  for (const field of ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration'] as const) {
    assert.ok(Number.isInteger(final[field]) && final[field] >= 0, `${field} = ${final[field]}`);
  }
  assert.ok(final.total_duration >= final.prompt_eval_duration + final.eval_duration, 'the phases fit in the total');
  assert.ok(final.prompt_eval_count > 0);
}

test('version, and the readable GGUF models listed as name:tag with file size, sha256 digest and details', { skip }, async () => {
  assert.match((await ollama.version()).version, /^\d+\.\d+\.\d+/);
  const { models } = await ollama.list();
  assert.deepEqual(models.map((m) => m.name).sort(), ['json:latest', 'stories:latest', 'tiny:1', 'tiny:latest']);
  const stories = models.find((m) => m.name === 'stories:latest')!;
  assert.equal(stories.size, statSync(storiesFile).size);
  assert.equal(stories.digest, createHash('sha256').update(readFileSync(storiesFile)).digest('hex'));
  assert.equal(new Date(stories.modified_at).getTime(), statSync(storiesFile).mtime.getTime());
  assert.equal(stories.details.format, 'gguf');
  assert.equal(stories.details.family, 'llama');
  assert.match(stories.details.parameter_size, /^\d+K$/);
});

test('show gives details, the GGUF metadata and the context; unknown models are 404 as the client raises them', { skip }, async () => {
  const shown = await ollama.show({ model: 'stories' });
  assert.equal(shown.details.family, 'llama');
  const info = shown.model_info as unknown as Record<string, unknown>;
  assert.equal(info['general.architecture'], 'llama');
  assert.deepEqual(info['tokenizer.ggml.tokens'], [], 'vocabulary arrays are left out unless verbose');
  assert.match(shown.parameters, /num_ctx\s+512/);
  const verbose = await ollama.show({ model: 'stories', verbose: true } as Parameters<Ollama['show']>[0]);
  assert.ok(((verbose.model_info as unknown as Record<string, unknown[]>)['tokenizer.ggml.tokens']).length > 100);
  await assert.rejects(ollama.show({ model: 'nope' }), (err: Error & { status_code?: number }) => {
    assert.equal(err.name, 'ResponseError');
    assert.equal(err.status_code, 404);
    assert.equal(err.message, "model 'nope' not found");
    return true;
  });
  await assert.rejects(ollama.show({ model: 'tiny:7' }), { name: 'ResponseError', status_code: 404 });
  await assert.rejects(ollama.show({ model: 'adder' }), { name: 'ResponseError', status_code: 400, message: /ONNX model/ });
  await assert.rejects(ollama.show({ model: 'junk' }), { name: 'ResponseError', status_code: 503, message: /cannot read the GGUF file/ });
});

test('generate, streamed and not, gives the same greedy text and Ollama\'s final counters', { skip }, async () => {
  const request = { model: 'stories', prompt: 'Once upon a time', raw: true, options: { temperature: 0, num_predict: 24 } };
  const whole = await ollama.generate({ ...request, stream: false });
  assertFinal(whole);
  assert.equal(whole.done_reason, 'length');
  assert.equal(whole.eval_count, 24);
  assert.match(whole.response ?? '', /Lily/);
  let streamed = '';
  let final: GenerateResponse | undefined;
  let chunks = 0;
  for await (const part of await ollama.generate({ ...request, stream: true })) {
    if (part.done) final = part;
    else { streamed += part.response; chunks++; }
  }
  assert.equal(streamed, whole.response);
  assert.ok(chunks > 1, 'streamed in pieces');
  assertFinal(final!);
  assert.equal(final!.response, '');
  assert.equal(final!.eval_count, 24);
});

test('a greedy raw generate equals the OpenAI completion; a templated one equals the OpenAI chat completion', { skip }, async () => {
  const prompt = 'The little dog';
  const raw = await ollama.generate({ model: 'stories', prompt, raw: true, stream: false, options: { temperature: 0, num_predict: 30 } });
  const completion = await openai.completions.create({ model: 'stories', prompt, max_tokens: 30, temperature: 0 });
  assert.equal(raw.response, completion.choices[0].text);
  assert.equal(raw.prompt_eval_count, completion.usage!.prompt_tokens);
  assert.equal(raw.eval_count, completion.usage!.completion_tokens);

  const templated = await ollama.generate({ model: 'stories', prompt, system: 'Tell a story.', stream: false, options: { temperature: 0, num_predict: 30 } });
  const chat = await openai.chat.completions.create({ model: 'stories', messages: [{ role: 'system', content: 'Tell a story.' }, { role: 'user', content: prompt }], max_tokens: 30, temperature: 0 });
  assert.equal(templated.response, chat.choices[0].message.content);
});

test('chat, streamed and not, equals the OpenAI chat completion of the same messages', { skip }, async () => {
  const messages = [{ role: 'user', content: 'Tell me about a cat.' }];
  const whole = await ollama.chat({ model: 'stories:latest', messages, stream: false, options: { temperature: 0, num_predict: 20, top_k: 1 } });
  assertFinal(whole);
  assert.equal(whole.message.role, 'assistant');
  const expected = await openai.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'Tell me about a cat.' }], max_tokens: 20, temperature: 0 });
  assert.equal(whole.message.content, expected.choices[0].message.content);
  let streamed = '';
  let final: ChatResponse | undefined;
  for await (const part of await ollama.chat({ model: 'stories', messages, stream: true, options: { temperature: 0, num_predict: 20 } })) {
    if (part.done) final = part;
    else streamed += part.message.content;
  }
  assert.equal(streamed, whole.message.content);
  assertFinal(final!);
  assert.equal(final!.eval_count, whole.eval_count);
});

test('format "json" gives parseable JSON, and a JSON-schema format gives a value of that schema', { skip }, async () => {
  const request = { model: 'json', messages: [{ role: 'user', content: 'Answer in JSON.' }], format: 'json', options: { temperature: 0, num_predict: 300 } };
  const json = await ollama.chat({ ...request, stream: false });
  assert.equal(json.done_reason, 'stop', `the JSON value was not complete: ${json.message.content}`);
  assert.equal(typeof JSON.parse(json.message.content), 'object');
  let streamed = '';
  for await (const part of await ollama.chat({ ...request, stream: true })) streamed += part.message.content;
  assert.equal(streamed, json.message.content);
  const generated = await ollama.generate({ model: 'json', prompt: 'x', format: 'json', stream: false, options: { temperature: 0, num_predict: 300 } });
  assert.equal(generated.done_reason, 'stop');
  assert.equal(typeof JSON.parse(generated.response ?? ''), 'object');
  const schema = { type: 'object', properties: { color: { enum: ['red', 'green', 'blue'] }, ok: { type: 'boolean' } }, required: ['color', 'ok'], additionalProperties: false };
  const chat = await ollama.chat({ model: 'stories', messages: [{ role: 'user', content: 'color?' }], format: schema, stream: false, options: { temperature: 0 } });
  const value = JSON.parse(chat.message.content) as { color: string; ok: boolean };
  assert.ok(['red', 'green', 'blue'].includes(value.color));
  assert.equal(typeof value.ok, 'boolean');
  await assert.rejects(
    ollama.chat({ model: 'stories', messages: [{ role: 'user', content: 'x' }], format: { type: 'string', pattern: '^a+$' } }),
    { name: 'ResponseError', status_code: 400, message: /pattern/ },
  );
});

test('embed gives the OpenAI route\'s vectors with Ollama\'s counts; the older embeddings gives one', { skip }, async () => {
  const embedded = await ollama.embed({ model: 'stories', input: ['a small cat', 'the sun'] });
  assert.equal(embedded.embeddings.length, 2);
  const expected = await openai.embeddings.create({ model: 'stories', input: ['a small cat', 'the sun'] });
  assert.deepEqual(embedded.embeddings, expected.data.map((d) => d.embedding));
  assert.equal(embedded.prompt_eval_count, expected.usage.prompt_tokens);
  assert.ok(Number.isInteger(embedded.total_duration));
  const one = await ollama.embeddings({ model: 'stories', prompt: 'a small cat' });
  assert.deepEqual(one.embedding, embedded.embeddings[0]);
});

test('ps lists loaded models with their keep-alive expiry; keep_alive 0 unloads after the request', { skip }, async () => {
  await ollama.generate({ model: 'tiny:1', prompt: 'hi', raw: true, stream: false, keep_alive: '10m', options: { num_predict: 2 } });
  const before = Date.now();
  const listed = (await ollama.ps()).models.find((m) => m.name === 'tiny:1');
  assert.ok(listed, 'tiny:1 is loaded');
  assert.ok(listed.size > 0);
  const expires = new Date(listed.expires_at).getTime();
  assert.ok(expires > before + 9 * 60_000 && expires <= before + 10 * 60_000 + 1000, `expires_at ${listed.expires_at}`);

  const last = await ollama.generate({ model: 'tiny:1', prompt: 'hi', raw: true, stream: false, keep_alive: 0, options: { num_predict: 2 } });
  assert.equal(last.done, true);
  assert.equal((await ollama.ps()).models.some((m) => m.name === 'tiny:1'), false, 'unloaded once the answer came');
  // An empty prompt loads it again, and with keep_alive 0 unloads it.
  assert.equal((await ollama.generate({ model: 'tiny:1', prompt: '' })).done_reason, 'load');
  assert.equal((await ollama.ps()).models.some((m) => m.name === 'tiny:1'), true);
  assert.equal((await ollama.chat({ model: 'tiny:1', messages: [], keep_alive: 0 })).done_reason, 'unload');
  assert.equal((await ollama.ps()).models.some((m) => m.name === 'tiny:1'), false);
});

test('what is not supported is refused with 400 naming it; pull is 501; every error body carries code', { skip }, async () => {
  const refusals: Array<[() => Promise<unknown>, RegExp]> = [
    [() => ollama.generate({ model: 'stories', prompt: 'x', images: ['aGVsbG8='] }), /images .*text models/],
    [() => ollama.chat({ model: 'stories', messages: [{ role: 'user', content: 'x', images: ['aGVsbG8='] }] }), /messages\[0\]\.images/],
    [() => ollama.generate({ model: 'stories', prompt: 'x', options: { mirostat: 2 } }), /options\.mirostat/],
    [() => ollama.generate({ model: 'stories', prompt: 'x', options: { num_ctx: 100_000 } }), /num_ctx 100000 .*512/],
    [() => ollama.generate({ model: 'stories', prompt: 'x', keep_alive: 'soon' }), /keep_alive/],
    [() => ollama.chat({ model: 'stories', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f' } }] }), /tools/],
  ];
  for (const [call, message] of refusals) await assert.rejects(call(), (err: Error & { status_code?: number }) => {
    assert.equal(err.name, 'ResponseError');
    assert.equal(err.status_code, 400, err.message);
    assert.match(err.message, message);
    return true;
  });
  await assert.rejects(ollama.pull({ model: 'llama3.2' }), { name: 'ResponseError', status_code: 501, message: /does not pull models/ });
  // Ollama's documented curl sends JSON without a JSON content type.
  const res = await fetch(`${server.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'nope', prompt: 'x' }) });
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { error: "model 'nope' not found", code: 'FORJA_ERR_MODEL_NOT_FOUND' });
  const pull = await fetch(`${server.url}/api/pull`, { method: 'POST', body: '{"model":"x"}' });
  assert.equal(((await pull.json()) as { code: string }).code, 'FORJA_ERR_MODEL_PULL_UNSUPPORTED');
});

test('requests are counted with protocol="ollama" under the repository name and served version', { skip }, async () => {
  await ollama.generate({ model: 'tiny', prompt: 'hi', raw: true, stream: false, options: { num_predict: 1 } });
  await assert.rejects(ollama.chat({ model: 'tiny:latest', messages: [{ role: 'user', content: 'x' }], options: { temperature: 9 } }), { status_code: 400 });
  await assert.rejects(ollama.generate({ model: 'missing', prompt: 'x' }), { status_code: 404 });
  const text = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(text, /forja_inference_requests_total\{protocol="ollama",model="tiny",version="2",status="200"\} 1/);
  assert.match(text, /forja_inference_requests_total\{protocol="ollama",model="tiny",version="2",status="400"\} 1/);
  assert.match(text, /forja_inference_requests_total\{protocol="ollama",model="_unknown",version="",status="404"\} [1-9]/);
});
