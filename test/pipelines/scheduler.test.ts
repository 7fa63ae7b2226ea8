/** Cron schedules fire once per tick with several workers on one store, and not again after a restart. */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { definePipeline } from '../../src/pipelines/define.js';
import type { PipelineService } from '../../src/pipelines/service.js';
import { tempDir } from './helpers.js';
import { startService } from './service-harness.js';

const services: PipelineService[] = [];
after(async () => { for (const s of services) await s.stop({ timeoutMs: 100 }); });

it('fires each tick exactly once across workers and restarts', async () => {
  const dataDir = tempDir();
  const def = definePipeline({ name: 'hourly', schedule: { cron: '0 * * * *', input: { kind: 'report' } }, run: (input) => input });
  const open = async () => { const s = await startService([def], { dataDir, runWorker: false }); services.push(s); return s; };
  const [a, b, c] = await Promise.all([open(), open(), open()]);
  const tick = Date.UTC(2030, 0, 1, 5, 0);
  const fired = await Promise.all([a.fireSchedules(tick), b.fireSchedules(tick), c.fireSchedules(tick)]);
  assert.equal(fired.flat().length, 1);
  await a.stop();
  const restarted = await open();
  assert.deepEqual(await restarted.fireSchedules(tick), [], 'a restarted process does not fire the same tick');
  assert.deepEqual(await restarted.fireSchedules(Date.UTC(2030, 0, 1, 5, 30)), [], 'minutes the cron does not match never fire');
  assert.deepEqual(await b.fireSchedules(tick + 3_600_000), ['hourly']);
  const jobs = (await b.list({ pipeline: 'hourly' })).jobs;
  assert.equal(jobs.length, 2);
  assert.deepEqual(jobs[0].input, { kind: 'report' });
});

it('fires a schedule in its own time zone', async () => {
  const def = definePipeline({ name: 'madrid-3am', schedule: { cron: '0 3 * * *', tz: 'Europe/Madrid' }, run: () => 'ok' });
  const service = await startService([def], { dataDir: tempDir(), runWorker: false });
  services.push(service);
  assert.deepEqual(await service.fireSchedules(Date.UTC(2030, 0, 1, 3, 0)), [], '03:00 UTC is 04:00 in Madrid');
  assert.deepEqual(await service.fireSchedules(Date.UTC(2030, 0, 1, 2, 0)), ['madrid-3am']);
});

it('a pipeline with a bad time zone fails to load, naming it', async () => {
  const { preparePipeline } = await import('../../src/pipelines/pipeline-loader.js');
  assert.throws(() => preparePipeline({ schedule: { cron: '0 3 * * *', tz: 'Nowhere/City' }, run: () => 1 }, 'bad-tz'), /time zone "Nowhere\/City"/);
});
