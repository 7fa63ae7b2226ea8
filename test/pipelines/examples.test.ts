/**
 * The example pipelines load as they are, and the webhook example runs end to end: a signed webhook,
 * a real HTTP fetch, an injected chat model, a result file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, it } from 'node:test';
import { loadPipelineDirectory } from '../../src/pipelines/pipeline-loader.js';
import type { PipelineService } from '../../src/pipelines/service.js';
import { signWebhookBody } from '../../src/pipelines/webhook-signature.js';
import { startService, waitForJob } from './service-harness.js';
import { tempDir } from './helpers.js';

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/pipelines');
let service: PipelineService | undefined;
let server: http.Server | undefined;
after(async () => {
  await service?.stop({ timeoutMs: 100 });
  server?.close();
});

it('every example pipeline loads', async () => {
  const { pipelines, failures } = await loadPipelineDirectory(examples);
  assert.deepEqual(failures, []);
  assert.deepEqual(pipelines.map((p) => p.name).sort(), ['nightly-cleanup', 'summarize-webhook', 'train-with-checkpoints']);
});

it('the webhook example fetches, calls the model and writes its result', async () => {
  server = http.createServer((_req, res) => res.end('Forja runs durable pipelines.'));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/doc`;
  process.env.INGEST_SECRET = 'example-secret';
  const prompts: unknown[] = [];
  service = await startService([], {
    pipelinesDir: examples,
    models: { infer: async () => ({}), chat: async (_model, req) => { prompts.push(req); return { choices: [{ message: { content: 'A short summary.' } }] }; } },
  });
  const outDir = tempDir();
  const body = Buffer.from(JSON.stringify({ url, outDir }));
  const { job } = await service.receiveWebhook('summarize-webhook', body, { 'x-hub-signature-256': signWebhookBody('example-secret', body) });
  const done = await waitForJob(service, job.id);
  assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
  const written = JSON.parse(fs.readFileSync((done.result as { file: string }).file, 'utf8'));
  assert.deepEqual(written, { url, summary: 'A short summary.' });
  assert.match(JSON.stringify(prompts[0]), /Forja runs durable pipelines/);
});
