/**
 * The example pipelines run as a new user runs them: a real `forja serve` over a copy of
 * examples/models (plus a generated GGUF chat model) and examples/pipelines, driven over HTTP.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO_ROOT, startServer, type ServerProcess } from '../helpers/server-process.js';
import { writeTinyLlamaGguf } from '../helpers/gguf-writer.js';
import { signWebhookBody } from '../../src/pipelines/webhook-signature.js';

const SECRET = 'example-secret';
let work: string;
let server: ServerProcess;
let documents: http.Server;
let documentUrl: string;

before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'forja-examples-'));
  cpSync(path.join(REPO_ROOT, 'examples/models'), path.join(work, 'models'), { recursive: true });
  writeTinyLlamaGguf(path.join(work, 'models', 'chat.gguf'));
  documents = http.createServer((_req, res) => res.end('the cat sat on the mat. the dog ran.'));
  await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve));
  documentUrl = `http://127.0.0.1:${(documents.address() as { port: number }).port}/doc`;
  // cwd is the temp dir: the webhook example writes ./summaries there.
  server = await startServer(['--models', path.join(work, 'models'), '--pipelines', path.join(REPO_ROOT, 'examples/pipelines'), '--data', path.join(work, 'data')], {
    cwd: work, env: { INGEST_SECRET: SECRET, SUMMARIZE_MODEL: undefined },
  });
});

after(async () => {
  assert.equal(await server?.stop(), 0);
  documents?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, body: await res.json() };
}

async function finished(id: string): Promise<any> {
  await (await fetch(`${server.url}/api/jobs/${id}/events`)).text(); // the stream ends when the job finishes
  return (await fetch(`${server.url}/api/jobs/${id}`)).json();
}

test('every example pipeline loads', async () => {
  const listing = await (await fetch(`${server.url}/api/pipelines`)).json() as { pipelines: { name: string }[]; failures: unknown[] };
  assert.deepEqual(listing.failures, []);
  assert.deepEqual(listing.pipelines.map((p) => p.name).sort(), ['nightly-cleanup', 'summarize-webhook', 'train-with-checkpoints']);
});

test('the webhook example fetches the document, summarizes it with the chat model and writes the summary', async () => {
  const raw = JSON.stringify({ url: documentUrl, model: 'chat' });
  const accepted = await post(`${server.url}/hooks/summarize-webhook`, raw, { 'x-hub-signature-256': signWebhookBody(SECRET, Buffer.from(raw)), 'x-github-delivery': 'd-1' });
  assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
  const job = await finished(accepted.body.id);
  assert.equal(job.state, 'succeeded', JSON.stringify(job.error));
  const file = path.resolve(work, job.result.file);
  assert.ok(file.startsWith(path.join(work, 'summaries')), file);
  const written = JSON.parse(readFileSync(file, 'utf8'));
  // The summary is what the chat API answers for the same request (greedy, so the same text).
  const document = await (await fetch(documentUrl)).text();
  const direct = await post(`${server.url}/v1/chat/completions`, {
    model: 'chat', max_tokens: 200, temperature: 0,
    messages: [{ role: 'system', content: 'Summarize the document in three sentences.' }, { role: 'user', content: document }],
  });
  assert.equal(direct.status, 200);
  assert.ok(written.summary.length > 0, 'the summary is empty');
  assert.deepEqual(written, { url: documentUrl, model: 'chat', summary: direct.body.choices[0].message.content });
});

test('the webhook example without a model answers 400 naming the field, and makes no job', async () => {
  const raw = JSON.stringify({ url: documentUrl });
  const refused = await post(`${server.url}/hooks/summarize-webhook`, raw, { 'x-hub-signature-256': signWebhookBody(SECRET, Buffer.from(raw)) });
  assert.equal(refused.status, 400);
  assert.match(refused.body.error, /model: name the chat model/);
  assert.equal(existsSync(path.join(work, 'summaries', 'undefined.json')), false);
});

test('the nightly cleanup runs by hand with no input', async () => {
  const submitted = await post(`${server.url}/api/jobs`, { pipeline: 'nightly-cleanup' });
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
  const job = await finished(submitted.body.id);
  assert.equal(job.state, 'succeeded', JSON.stringify(job.error));
  const days = (Date.now() - Date.parse(job.result.cutoff)) / 86_400_000;
  assert.ok(Math.round(days) === 30, `cutoff ${job.result.cutoff} is not 30 days ago`);
});

test('the training example checkpoints each epoch and finishes', async () => {
  const submitted = await post(`${server.url}/api/jobs`, { pipeline: 'train-with-checkpoints', input: { epochs: 2 } });
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
  const job = await finished(submitted.body.id);
  assert.equal(job.state, 'succeeded', JSON.stringify(job.error));
  assert.equal(job.result.epoch, 2);
  assert.equal(job.progress, 1);
  const bad = await post(`${server.url}/api/jobs`, { pipeline: 'train-with-checkpoints', input: { epochs: 'many' } });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /epochs/);
});
