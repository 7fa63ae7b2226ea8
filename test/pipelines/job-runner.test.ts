/** Runs of whole jobs: step memoization across retries and restarts, model calls, pipeline timeout, step name rules. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { definePipeline, NonRetryableError } from '../../src/pipelines/define.js';
import type { PipelineModels } from '../../src/pipelines/model-calls.js';
import type { PipelineService } from '../../src/pipelines/service.js';
import { gate, startService, waitForJob } from './service-harness.js';
import { tempDir } from './helpers.js';

describe('job runner', () => {
  const services: PipelineService[] = [];
  after(async () => { for (const s of services) await s.stop({ timeoutMs: 100 }); });
  const start = async (...args: Parameters<typeof startService>) => { const s = await startService(...args); services.push(s); return s; };

  it('a retried job returns stored results for completed steps and runs only the rest', async () => {
    const runs = { fetch: 0, write: 0 };
    const service = await start([definePipeline({
      name: 'memo',
      async run(input: { fail?: boolean }, ctx) {
        const doc = await ctx.step('fetch', () => { runs.fetch++; return { body: `doc-${runs.fetch}` }; });
        await ctx.step('write', () => {
          runs.write++;
          if (runs.write === 1) throw new NonRetryableError('disk full');
          return doc.body;
        });
        return doc;
      },
    })]);
    const { job } = await service.submit({ pipeline: 'memo' });
    assert.equal((await waitForJob(service, job.id)).state, 'failed');
    await service.retry(job.id);
    const done = await waitForJob(service, job.id);
    assert.equal(done.state, 'succeeded');
    assert.deepEqual(done.result, { body: 'doc-1' }, 'the stored result of fetch was used');
    assert.deepEqual(runs, { fetch: 1, write: 2 });
  });

  it('a job interrupted by shutdown resumes in a new process without re-running completed steps', async () => {
    const dataDir = tempDir();
    const runs = { a: 0, b: 0 };
    const started = gate();
    const pipeline = (hang: boolean) => definePipeline({
      name: 'resume',
      async run(_input, ctx) {
        const a = await ctx.step('a', () => { runs.a++; return 41; });
        return ctx.step('b', async ({ signal }) => {
          runs.b++;
          started.open();
          if (hang) await new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
          return a + 1;
        });
      },
    });
    const first = await startService([pipeline(true)], { dataDir });
    const { job } = await first.submit({ pipeline: 'resume' });
    await started.promise;
    await first.stop({ timeoutMs: 20 });
    const second = await start([pipeline(false)], { dataDir });
    const done = await waitForJob(second, job.id);
    assert.equal(done.state, 'succeeded');
    assert.equal(done.result, 42);
    assert.deepEqual(runs, { a: 1, b: 2 });
    assert.equal(done.attempts, 1, 'a delivery cut short by shutdown does not count');
  });

  it('ctx.infer and ctx.chat call the injected models; without them they fail clearly', async () => {
    const calls: string[] = [];
    const models = {
      infer: async (model: string) => { calls.push(`infer:${model}`); return { outputs: [{ name: 'label', data: ['cat'] }] }; },
      chat: async (model: string) => { calls.push(`chat:${model}`); return { choices: [{ message: { content: 'hi' } }] }; },
    } as unknown as PipelineModels; // the wiring only; test/e2e/pipeline-models.test.ts runs real models
    const def = definePipeline({
      name: 'models',
      async run(_input, ctx) {
        const label = await ctx.step('classify', () => ctx.infer('classifier', { inputs: [] }));
        const reply = await ctx.step('chat', () => ctx.chat('tiny-llm', { messages: [] }));
        return { label, reply };
      },
    });
    const withModels = await start([def], { models });
    const ok = await waitForJob(withModels, (await withModels.submit({ pipeline: 'models' })).job.id);
    assert.equal(ok.state, 'succeeded');
    assert.deepEqual(calls, ['infer:classifier', 'chat:tiny-llm']);
    const without = await start([definePipeline({ ...def, retry: { attempts: 1 } })]);
    const failed = await waitForJob(without, (await without.submit({ pipeline: 'models' })).job.id);
    assert.equal(failed.state, 'failed');
    assert.match(failed.error?.message ?? '', /no model server is attached/);
  });

  it('fails the job when the pipeline timeout passes, aborting the running step', async () => {
    let aborted = false;
    const service = await start([definePipeline({
      name: 'deadline', timeoutMs: 40,
      async run(_input, ctx) {
        await ctx.step('wait', ({ signal }) => new Promise((_r, reject) => signal.addEventListener('abort', () => { aborted = true; reject(signal.reason); })));
      },
    })]);
    const done = await waitForJob(service, (await service.submit({ pipeline: 'deadline' })).job.id);
    assert.equal(done.state, 'failed');
    assert.match(done.error?.message ?? '', /pipeline "deadline" timed out after 40 ms/);
    assert.equal(aborted, true);
  });

  it('rejects a step name used twice in one run', async () => {
    const service = await start([definePipeline({
      name: 'dupes', retry: { attempts: 1 },
      async run(_input, ctx) {
        await ctx.step('x', () => 1);
        await ctx.step('x', () => 2);
      },
    })]);
    const done = await waitForJob(service, (await service.submit({ pipeline: 'dupes' })).job.id);
    assert.equal(done.state, 'failed');
    assert.match(done.error?.message ?? '', /used twice/);
  });

  it('logs from a step are stored and readable', async () => {
    const service = await start([definePipeline({
      name: 'logs',
      async run(_input, ctx) {
        await ctx.step('s', ({ log }) => { log('fetched', { bytes: 10 }); });
        ctx.log('done');
      },
    })]);
    const { job } = await service.submit({ pipeline: 'logs' });
    await waitForJob(service, job.id);
    const logs = await service.logs(job.id);
    assert.deepEqual(logs.map((l) => l.message), ['fetched', 'done']);
    assert.deepEqual(logs[0].data, { bytes: 10 });
  });
});
