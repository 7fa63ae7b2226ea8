/** OpenAI traffic, streamed or not, is counted in the shared request metrics of a real server. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import OpenAI from 'openai';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeTinyLlamaGguf } from '../helpers/gguf-writer.js';

let repo: TempRepo;
let server: ServerProcess;

before(async () => {
  repo = tempRepo();
  writeTinyLlamaGguf(path.join(repo.dir, 'tiny.gguf'));
  server = await startServer(['--models', repo.dir]);
});

after(async () => {
  assert.equal(await server.stop(), 0);
  repo.remove();
});

test('chat requests, streamed and not, and unknown models are counted by status', async () => {
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
  const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true });
  for await (const _chunk of stream) { /* drain */ }
  await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }), { status: 404 });
  const text = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(text, /forja_inference_requests_total\{protocol="openai",model="tiny",version="",status="200"\} 2/);
  assert.match(text, /forja_inference_requests_total\{protocol="openai",model="_unknown",version="",status="404"\} 1/);
  assert.match(text, /forja_inference_request_duration_seconds_count\{protocol="openai",model="tiny",version=""\} 2/);
});
