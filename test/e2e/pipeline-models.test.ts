/**
 * A pipeline calls this server's models in process: ctx.infer on an ONNX model, ctx.chat on a GGUF
 * model and on an external backend (a second real `forja serve`), inside a real `forja serve` with
 * --pipelines, submitted over the jobs API. The answers are the HTTP APIs' own bodies: the v2 infer
 * response and the chat.completion object, compared with what the routes answer for the same request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel } from '../helpers/onnx-models.js';
import { writeTinyLlamaGguf } from '../helpers/gguf-writer.js';

let repo: TempRepo;
let upstreamRepo: TempRepo;
let work: string;
let server: ServerProcess;
let upstream: ServerProcess;

const INFER = {
  inputs: [
    { name: 'A', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
    { name: 'B', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
  ],
  outputs: [{ name: 'SUM' }],
};
const CHAT = { messages: [{ role: 'user', content: 'hello' }], max_tokens: 4, temperature: 0 };

const PIPELINE = `
export default {
  name: 'add-and-chat',
  async run(input, ctx) {
    const sum = await ctx.step('add', () => ctx.infer('add', input.infer));
    const local = await ctx.step('chat', () => ctx.chat('tiny', input.chat));
    const remote = await ctx.step('remote', () => ctx.chat('remote', input.chat));
    return { sum, local, remote };
  },
};
`;

const WRONG_KIND = `
export default { name: 'chat-onnx', async run(_input, ctx) { return ctx.step('chat', () => ctx.chat('add', { messages: [{ role: 'user', content: 'x' }] }), { retry: { attempts: 1 } }); } };
`;

const STREAM = `
export default { name: 'chat-stream', async run(_input, ctx) { return ctx.step('chat', () => ctx.chat('tiny', { messages: [{ role: 'user', content: 'x' }], stream: true }), { retry: { attempts: 1 } }); } };
`;

before(async () => {
  upstreamRepo = tempRepo();
  writeTinyLlamaGguf(path.join(upstreamRepo.dir, 'tiny.gguf'));
  upstream = await startServer(['--models', upstreamRepo.dir]);

  repo = tempRepo();
  writeAddModel(repo.versionPath('add', '1'));
  writeTinyLlamaGguf(path.join(repo.dir, 'tiny.gguf'));
  mkdirSync(path.join(repo.dir, 'remote'));
  writeFileSync(path.join(repo.dir, 'remote', 'model.yaml'), `backend: { type: openai, url: ${upstream.url}/v1, model: tiny }\n`);
  work = mkdtempSync(path.join(os.tmpdir(), 'forja-pipelines-'));
  writeFileSync(path.join(work, 'add-and-chat.mjs'), PIPELINE);
  writeFileSync(path.join(work, 'chat-onnx.mjs'), WRONG_KIND);
  writeFileSync(path.join(work, 'chat-stream.mjs'), STREAM);
  server = await startServer(['--models', repo.dir, '--pipelines', work, '--data', path.join(work, 'data')]);
});

after(async () => {
  assert.equal(await server?.stop(), 0);
  assert.equal(await upstream?.stop(), 0);
  repo?.remove();
  upstreamRepo?.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function post(url: string, body: unknown): Promise<any> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  assert.ok(res.ok, `${url} answered ${res.status}: ${await res.clone().text()}`);
  return res.json();
}

async function runJob(pipeline: string, input: unknown): Promise<any> {
  const { id } = await post(`${server.url}/api/jobs`, { pipeline, input });
  await (await fetch(`${server.url}/api/jobs/${id}/events`)).text(); // the stream ends when the job finishes
  return (await fetch(`${server.url}/api/jobs/${id}`)).json();
}

/** The parts of a chat.completion that do not change from one call to the next. */
// Token counts, not how many prompt tokens the prefix cache served: that depends on which call ran first.
const stable = (c: any) => ({ object: c.object, model: c.model, choices: c.choices, usage: { prompt_tokens: c.usage.prompt_tokens, completion_tokens: c.usage.completion_tokens, total_tokens: c.usage.total_tokens } });

test('ctx.infer answers the v2 infer response and ctx.chat the chat.completion object, local and external', async () => {
  const job = await runJob('add-and-chat', { infer: INFER, chat: CHAT });
  assert.equal(job.state, 'succeeded', `job did not succeed: ${JSON.stringify(job)}`);
  const { sum, local, remote } = job.result;

  assert.deepEqual(sum, await post(`${server.url}/v2/models/add/infer`, INFER));
  assert.deepEqual(sum.outputs[0], { name: 'SUM', datatype: 'FP32', shape: [1, 4], data: [2, 3, 4, 5] });

  assert.equal(local.object, 'chat.completion');
  assert.match(local.id, /^chatcmpl-/);
  assert.equal(typeof local.choices[0].message.content, 'string');
  assert.deepEqual(stable(local), stable(await post(`${server.url}/v1/chat/completions`, { model: 'tiny', ...CHAT })));

  // The external backend's own answer, as the upstream gives it to any client.
  assert.deepEqual(stable(remote), stable(await post(`${upstream.url}/v1/chat/completions`, { model: 'tiny', ...CHAT })));
  assert.ok(remote.usage.completion_tokens >= 1 && remote.usage.completion_tokens <= 4);
});

test('ctx.chat on an ONNX model fails the job with a clear message', async () => {
  const job = await runJob('chat-onnx', {});
  assert.equal(job.state, 'failed');
  assert.match(job.error.message, /ctx\.chat\('add'\): The model 'add' is not a language model/);
});

test('ctx.chat refuses stream: it answers once, with the whole completion', async () => {
  const job = await runJob('chat-stream', {});
  assert.equal(job.state, 'failed');
  assert.match(job.error.message, /ctx\.chat\('tiny'\): stream is not available here/);
});
