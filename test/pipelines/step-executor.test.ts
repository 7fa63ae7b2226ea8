/** Steps: retries with the backoff they were given, non-retryable errors, timeouts through the signal, checkpoints. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { definePipeline, NonRetryableError } from '../../src/pipelines/define.js';
import type { JobEvent } from '../../src/pipelines/job-events.js';
import type { PipelineService } from '../../src/pipelines/service.js';
import { startService, waitForJob } from './service-harness.js';

describe('step executor', () => {
  const services: PipelineService[] = [];
  after(async () => { for (const s of services) await s.stop({ timeoutMs: 100 }); });
  const start = async (...args: Parameters<typeof startService>) => { const s = await startService(...args); services.push(s); return s; };

  it('retries a flaky step with exponential backoff and succeeds', async () => {
    const tries: number[] = [];
    const service = await start([definePipeline({
      name: 'flaky',
      async run(_input, ctx) {
        return ctx.step('call', () => {
          tries.push(Date.now());
          if (tries.length < 3) throw new Error(`upstream 503 #${tries.length}`);
          return 'ok';
        }, { retry: { attempts: 5, initialMs: 20, factor: 3, jitter: false } });
      },
    })]);
    const events: JobEvent[] = [];
    service.subscribe('*', (e) => events.push(e));
    const { job } = await service.submit({ pipeline: 'flaky' });
    const done = await waitForJob(service, job.id);
    assert.equal(done.state, 'succeeded');
    assert.equal(done.result, 'ok');
    const retries = events.filter((e) => e.type === 'step:retry') as Extract<JobEvent, { type: 'step:retry' }>[];
    assert.deepEqual(retries.map((e) => e.delayMs), [20, 60], 'delays follow initialMs × factor^n');
    assert.deepEqual(retries.map((e) => e.error.message), ['upstream 503 #1', 'upstream 503 #2']);
    assert.ok(tries[1] - tries[0] >= 19 && tries[2] - tries[1] >= 59, 'each retry waited out its delay');
    assert.equal(done.steps?.[0].attempts, 3);
    assert.equal(done.steps?.[0].state, 'succeeded');
  });

  it('fails the job at once on a non-retryable error, with message and stack', async () => {
    let runs = 0;
    const service = await start([definePipeline({
      name: 'strict',
      retry: { attempts: 5, initialMs: 1, nonRetryable: ['ValidationError'] },
      async run(_input, ctx) {
        await ctx.step('validate', () => {
          runs++;
          const e = new Error('field "url" is missing');
          e.name = 'ValidationError';
          throw e;
        });
        await ctx.step('never', () => { throw new NonRetryableError('unreachable'); });
      },
    })]);
    const { job } = await service.submit({ pipeline: 'strict' });
    const done = await waitForJob(service, job.id);
    assert.equal(done.state, 'failed');
    assert.equal(runs, 1);
    assert.equal(done.error?.message, 'field "url" is missing');
    assert.equal(done.error?.step, 'validate');
    assert.match(done.error?.stack ?? '', /step-executor\.test\.js/);
    assert.equal(done.steps?.length, 1);
    assert.equal(done.steps?.[0].state, 'failed');
  });

  it('NonRetryableError stops retries even when attempts remain', async () => {
    let runs = 0;
    const service = await start([definePipeline({
      name: 'nonretry',
      async run(_input, ctx) {
        await ctx.step('s', () => { runs++; throw new NonRetryableError('bad credentials'); }, { retry: { attempts: 9, initialMs: 1 } });
      },
    })]);
    const { job } = await service.submit({ pipeline: 'nonretry' });
    const done = await waitForJob(service, job.id);
    assert.equal(done.state, 'failed');
    assert.equal(runs, 1);
    assert.equal(done.error?.name, 'NonRetryableError');
  });

  it('enforces a step timeout by aborting the signal the step receives, then retries', async () => {
    const reasons: string[] = [];
    const service = await start([definePipeline({
      name: 'slow',
      async run(_input, ctx) {
        await ctx.step('hang', ({ signal }) => new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => { reasons.push((signal.reason as Error).name); reject(signal.reason); });
        }), { timeoutMs: 30, retry: { attempts: 2, initialMs: 1 } });
      },
    })]);
    const { job } = await service.submit({ pipeline: 'slow' });
    const done = await waitForJob(service, job.id);
    assert.equal(done.state, 'failed');
    assert.deepEqual(reasons, ['TimeoutError', 'TimeoutError']);
    assert.match(done.error?.message ?? '', /timed out after 30 ms/);
    assert.equal(done.steps?.[0].attempts, 2);
  });

  it('hands a retried step its last checkpoint and records progress', async () => {
    const seen: (number | undefined)[] = [];
    const service = await start([definePipeline({
      name: 'train',
      async run(_input, ctx) {
        return ctx.step('epochs', async ({ checkpoint, saveCheckpoint, progress, attempt }) => {
          const start = (checkpoint as { epoch: number } | undefined)?.epoch;
          seen.push(start);
          for (let epoch = start ?? 0; epoch < 5; epoch++) {
            if (attempt === 1 && epoch === 3) throw new Error('GPU fell over');
            await saveCheckpoint({ epoch: epoch + 1 });
            progress((epoch + 1) / 5, `epoch ${epoch + 1}`);
          }
          return 'trained';
        }, { retry: { attempts: 2, initialMs: 1 } });
      },
    })]);
    const { job } = await service.submit({ pipeline: 'train' });
    const done = await waitForJob(service, job.id);
    assert.equal(done.state, 'succeeded');
    assert.deepEqual(seen, [undefined, 3], 'the second attempt resumed from epoch 3');
    assert.equal(done.progress, 1);
    assert.equal(done.progressMessage, 'epoch 5');
    assert.equal(done.steps?.[0].hasCheckpoint, true);
  });
});
