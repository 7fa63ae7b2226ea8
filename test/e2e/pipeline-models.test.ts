/**
 * A pipeline calls this server's models in process: ctx.infer on an ONNX model and ctx.chat on a GGUF
 * model, inside a real `forja serve` with --pipelines, submitted over the jobs API.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel } from '../helpers/onnx-models.js';
import { writeTinyLlamaGguf } from '../helpers/gguf-writer.js';

let repo: TempRepo;
let work: string;
let server: ServerProcess;

const PIPELINE = `
export default {
  name: 'add-and-chat',
  async run(input, ctx) {
    const sum = await ctx.step('add', () => ctx.infer('add', {
      inputs: [
        { name: 'A', shape: [1, 4], datatype: 'FP32', data: input.a },
        { name: 'B', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
      ],
      outputs: [{ name: 'SUM' }],
    }));
    const reply = await ctx.step('chat', () => ctx.chat('tiny', { messages: [{ role: 'user', content: 'hello' }], max_tokens: 4, temperature: 0 }));
    return { sum: sum.outputs[0].data, completionTokens: reply.usage.completion_tokens, finish: reply.finish_reason };
  },
};
export const wrongKind = 1;
`;

const WRONG_KIND = `
export default { name: 'chat-onnx', async run(_input, ctx) { return ctx.step('chat', () => ctx.chat('add', { messages: [{ role: 'user', content: 'x' }] }), { retry: { attempts: 1 } }); } };
`;

before(async () => {
  repo = tempRepo();
  writeAddModel(repo.versionPath('add', '1'));
  writeTinyLlamaGguf(path.join(repo.dir, 'tiny.gguf'));
  work = mkdtempSync(path.join(os.tmpdir(), 'forja-pipelines-'));
  writeFileSync(path.join(work, 'add-and-chat.mjs'), PIPELINE);
  writeFileSync(path.join(work, 'chat-onnx.mjs'), WRONG_KIND);
  server = await startServer(['--models', repo.dir, '--pipelines', work, '--data', path.join(work, 'data')]);
});

after(async () => {
  assert.equal(await server.stop(), 0);
  repo.remove();
  rmSync(work, { recursive: true, force: true });
});

async function runJob(pipeline: string, input: unknown): Promise<any> {
  const res = await fetch(`${server.url}/api/jobs`, { method: 'POST', body: JSON.stringify({ pipeline, input }), headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 202, await res.clone().text());
  const { id } = (await res.json()) as any;
  await (await fetch(`${server.url}/api/jobs/${id}/events`)).text(); // the stream ends when the job finishes
  return (await fetch(`${server.url}/api/jobs/${id}`)).json();
}

test('ctx.infer and ctx.chat reach the loaded models', async () => {
  const job = await runJob('add-and-chat', { a: [1, 2, 3, 4] });
  assert.equal(job.state, 'succeeded', `job did not succeed: ${JSON.stringify(job)}`);
  assert.deepEqual(job.result.sum, [2, 3, 4, 5]);
  assert.ok(job.result.completionTokens >= 1 && job.result.completionTokens <= 4);
  assert.ok(['stop', 'length'].includes(job.result.finish));
});

test('ctx.chat on an ONNX model fails the job with a clear message', async () => {
  const job = await runJob('chat-onnx', {});
  assert.equal(job.state, 'failed');
  assert.match(JSON.stringify(job.error), /not a local language model/);
});
