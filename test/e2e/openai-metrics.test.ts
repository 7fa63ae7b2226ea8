/**
 * OpenAI traffic, streamed or not, is counted in the shared request metrics of a real server under
 * the version that served it, and generated tokens are counted as they are produced, so the
 * dashboard's LLM row shows its requests and a token rate during a long generation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { startServer, SHARED_MODELS, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeTinyLlamaGguf } from '../helpers/gguf-writer.js';

// Random weights over the 32k Llama-2 vocabulary: greedy decoding practically never meets EOS, so
// a generation runs to max_tokens and is long enough to be watched.
const RANDOM_LLAMA = path.join(SHARED_MODELS, 'gguf/llama-2-tiny-random.gguf');
const present = existsSync(RANDOM_LLAMA);

let repo: TempRepo;
let server: ServerProcess;

before(async () => {
  repo = tempRepo();
  writeTinyLlamaGguf(path.join(repo.dir, 'tiny.gguf'));
  if (present) {
    copyFileSync(RANDOM_LLAMA, repo.versionPath('long', '1', 'model.gguf'));
    repo.modelYaml('long', 'context_size: 4096\nparallel: 1\n');
  }
  server = await startServer(['--models', repo.dir]);
});

after(async () => {
  assert.equal(await server.stop(), 0);
  repo.remove();
});

async function metric(pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const match = pattern.exec(text);
  return match ? Number(match[1]) : 0;
}

interface Row { name: string; version: string; requests: number; tokensPerSec?: number }
async function dashboardRow(name: string): Promise<{ at: number; row: Row }> {
  const snapshot = await (await fetch(`${server.url}/dashboard/snapshot`)).json() as { at: number; models: Row[] };
  const row = snapshot.models.find((m) => m.name === name);
  assert.ok(row, `no dashboard row for ${name}`);
  return { at: snapshot.at, row };
}

test('chat requests, streamed and not, and unknown models are counted by status under the served version', async () => {
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
  const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true });
  for await (const _chunk of stream) { /* drain */ }
  await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }), { status: 404 });
  // A request refused before it holds the model counts on the version that would serve it.
  await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], temperature: 5 }), { status: 400 });
  const text = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(text, /forja_inference_requests_total\{protocol="openai",model="tiny",version="1",status="200"\} 2/);
  assert.match(text, /forja_inference_requests_total\{protocol="openai",model="tiny",version="1",status="400"\} 1/);
  assert.match(text, /forja_inference_requests_total\{protocol="openai",model="_unknown",version="",status="404"\} 1/);
  assert.match(text, /forja_inference_request_duration_seconds_count\{protocol="openai",model="tiny",version="1"\} 2/);
  const { row } = await dashboardRow('tiny');
  assert.equal(row.requests, 3);
});

test('completion tokens move during a generation, and the dashboard shows a token rate before it ends', { skip: !present && `no ${RANDOM_LLAMA}`, timeout: 120_000 }, async () => {
  const tokens = new RegExp('forja_llm_completion_tokens_total\\{model="long"\\} (\\d+)');
  const res = await fetch(`${server.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'long', prompt: 'once', max_tokens: 3000, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let events = 0;
  const readEvents = async (until: () => boolean): Promise<boolean> => {
    while (!until()) {
      const { done, value } = await reader.read();
      if (done) return false;
      text += decoder.decode(value, { stream: true });
      events = text.split('\n\n').length - 1;
    }
    return true;
  };
  assert.ok(await readEvents(() => events >= 5), 'the stream ended early');
  const early = await metric(tokens);
  const first = await dashboardRow('long');
  // The dashboard samples at most every 500 ms: read on until a fresh sample can be taken.
  assert.ok(await readEvents(() => Date.now() - first.at > 600), 'the stream ended early');
  const second = await dashboardRow('long');
  const later = await metric(tokens);
  await readEvents(() => false);
  const usageEvent = text.split('\n\n').find((e) => e.includes('"usage":{'));
  assert.ok(usageEvent, 'the stream ends with a usage chunk');
  const total = (JSON.parse(usageEvent.slice('data: '.length)) as { usage: { completion_tokens: number } }).usage.completion_tokens;

  assert.ok(early > 0, `no tokens counted after ${events} streamed events`);
  assert.ok(early < later && later < total, `counted ${early}, then ${later}, of ${total}: the count must grow during the generation`);
  assert.ok((second.row.tokensPerSec ?? 0) > 0, `tokens/s read ${second.row.tokensPerSec} during the generation`);
  assert.equal(await metric(tokens), total);
  assert.equal((await dashboardRow('long')).row.requests >= 1, true);
});
