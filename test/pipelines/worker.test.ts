/** The worker: cancellation reaches the running step, graceful shutdown, per-pipeline concurrency, fencing of a lost lease. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { definePipeline } from '../../src/pipelines/define.js';
import type { PipelineService } from '../../src/pipelines/service.js';
import { gate, startService, waitForJob } from './service-harness.js';
import { tempDir } from './helpers.js';

describe('pipeline worker', () => {
  const services: PipelineService[] = [];
  after(async () => { for (const s of services) await s.stop({ timeoutMs: 100 }); });
  const start = async (...args: Parameters<typeof startService>) => { const s = await startService(...args); services.push(s); return s; };

  it('cancelling a running job aborts the running step and ends the job cancelled', async () => {
    const started = gate();
    let sawAbort = false;
    const service = await start([definePipeline({
      name: 'cancel-me',
      async run(_input, ctx) {
        await ctx.step('long', ({ signal }) => new Promise((_r, reject) => {
          started.open();
          signal.addEventListener('abort', () => { sawAbort = true; reject(signal.reason); });
        }));
        await ctx.step('after', () => assert.fail('must not run after cancel'));
      },
    })]);
    const { job } = await service.submit({ pipeline: 'cancel-me' });
    await started.promise;
    const requested = await service.cancel(job.id);
    assert.equal(requested.cancelRequested, true);
    const done = await waitForJob(service, job.id);
    assert.equal(done.state, 'cancelled');
    assert.equal(sawAbort, true);
  });

  it('a cancel requested from another process reaches the worker through its heartbeat', async () => {
    const dataDir = tempDir();
    const started = gate();
    const worker = await start([definePipeline({
      name: 'remote-cancel',
      async run(_input, ctx) {
        await ctx.step('long', ({ signal }) => new Promise((_r, reject) => { started.open(); signal.addEventListener('abort', () => reject(signal.reason)); }));
      },
    })], { dataDir, worker: { leaseMs: 300 } });
    const api = await start([definePipeline({ name: 'remote-cancel', run: () => undefined })], { dataDir, runWorker: false });
    const { job } = await api.submit({ pipeline: 'remote-cancel' });
    await started.promise;
    await api.cancel(job.id);
    assert.equal((await waitForJob(worker, job.id)).state, 'cancelled');
  });

  it('graceful stop lets running steps finish within the timeout', async () => {
    const started = gate();
    const release = gate();
    const service = await startService([definePipeline({
      name: 'drain',
      async run(_input, ctx) {
        return ctx.step('s', async () => { started.open(); await release.promise; return 'finished'; });
      },
    })]);
    const { job } = await service.submit({ pipeline: 'drain' });
    await started.promise;
    const stopping = service.stop({ timeoutMs: 10_000 });
    release.open();
    await stopping;
    const reopened = await start([definePipeline({ name: 'drain', run: () => undefined })], { dataDir: service.options.dataDir, runWorker: false });
    const done = await reopened.get(job.id);
    assert.equal(done.state, 'succeeded');
    assert.equal(done.result, 'finished');
  });

  it('never runs more jobs of a pipeline at once than its concurrency', async () => {
    let running = 0;
    let peak = 0;
    const service = await start([definePipeline({
      name: 'limited', concurrency: 2,
      async run(_input, ctx) {
        await ctx.step('s', async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
        });
      },
    })], { worker: { concurrency: 10 } });
    const ids = [];
    for (let i = 0; i < 8; i++) ids.push((await service.submit({ pipeline: 'limited' })).job.id);
    for (const id of ids) assert.equal((await waitForJob(service, id)).state, 'succeeded');
    assert.equal(peak, 2);
  });

  it('a worker whose lease was taken over cannot record its outcome', async () => {
    const dataDir = tempDir();
    const started = gate();
    const release = gate();
    let runs = 0;
    const def = definePipeline({
      name: 'fenced',
      async run(_input, ctx) {
        return ctx.step('s', async () => {
          runs++;
          if (runs === 1) { started.open(); await release.promise; return 'stale'; }
          return 'fresh';
        });
      },
    });
    // A worker whose heartbeat never runs before its short lease expires behaves like a paused process.
    const slow = await start([def], { dataDir, worker: { leaseMs: 100, heartbeatMs: 60_000 } });
    const { job } = await slow.submit({ pipeline: 'fenced' });
    await started.promise;
    const other = await start([def], { dataDir, worker: { leaseMs: 5000 } });
    const done = await waitForJob(other, job.id);
    assert.equal(done.result, 'fresh');
    release.open();
    await new Promise((r) => setImmediate(r));
    await slow.stop({ timeoutMs: 1000 });
    const after = await other.get(job.id);
    assert.equal(after.state, 'succeeded');
    assert.equal(after.result, 'fresh', 'the stale worker did not overwrite the result');
    assert.equal(after.attempts, 2);
  });
});
