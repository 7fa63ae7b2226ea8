/** The sweeper removes finished jobs past each pipeline's retention, through the service. */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { definePipeline } from '../../src/pipelines/define.js';
import type { PipelineService } from '../../src/pipelines/service.js';
import { startService, waitForJob } from './service-harness.js';

let service: PipelineService;
after(() => service.stop({ timeoutMs: 100 }));

it('keeps at most retention.maxCount finished jobs and drops those older than maxAgeMs', async () => {
  service = await startService([
    definePipeline({ name: 'kept', retention: { maxCount: 2 }, run: () => 'x' }),
    definePipeline({ name: 'aged', retention: { maxAgeMs: 60_000 }, run: () => 'y' }),
  ]);
  const kept: string[] = [];
  for (let i = 0; i < 4; i++) kept.push((await service.submit({ pipeline: 'kept' })).job.id);
  const aged = (await service.submit({ pipeline: 'aged' })).job.id;
  for (const id of [...kept, aged]) await waitForJob(service, id);
  assert.equal(await service.sweep(), 2);
  assert.equal((await service.list({ pipeline: 'kept' })).jobs.length, 2);
  assert.equal(await service.sweep(Date.now() + 120_000), 1);
  assert.equal((await service.list({ pipeline: 'aged' })).jobs.length, 0);
});
