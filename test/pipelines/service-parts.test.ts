/** The parts PipelineService is built from: an injected backend factory and the pipeline registry. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, it } from 'node:test';
import { definePipeline } from '../../src/pipelines/define.js';
import { PipelineRegistry } from '../../src/pipelines/pipeline-registry.js';
import { SqliteBackend } from '../../src/pipelines/queues/sqlite/index.js';
import type { PipelineService } from '../../src/pipelines/service.js';
import { silentLogger, tempDir } from './helpers.js';
import { startService, waitForJob } from './service-harness.js';

const services: PipelineService[] = [];
after(async () => { for (const s of services) await s.stop({ timeoutMs: 100 }); });

it('opens the backend its factory gives it, not one of its own in the data directory', async () => {
  const file = path.join(tempDir(), 'elsewhere.sqlite');
  const service = await startService([definePipeline({ name: 'double', run: (input: { n: number }) => input.n * 2 })], {
    createBackend: async () => new SqliteBackend({ file }),
  });
  services.push(service);
  const { job } = await service.submit({ pipeline: 'double', input: { n: 4 } });
  assert.equal((await waitForJob(service, job.id)).result, 8);
  const reader = new SqliteBackend({ file });
  await reader.init([{ name: 'double' }]);
  try {
    assert.equal((await reader.get(job.id))?.result, 8, 'the job lives in the injected store');
  } finally {
    await reader.close();
  }
});

it('the registry keeps the first definition of a name and reports the second as a failure', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'twice.mjs'), 'export default { run: () => "from the directory" };\n');
  writeFileSync(path.join(dir, 'other.mjs'), "export default { schedule: { cron: '0 3 * * *', tz: 'Europe/Madrid' }, webhook: { allowUnsigned: true }, run: () => 1 };\n");
  const registry = new PipelineRegistry();
  await registry.load({ pipelines: [definePipeline({ name: 'twice', run: () => 'from code' })], dir, logger: silentLogger });
  assert.deepEqual(registry.all().map((p) => p.name).sort(), ['other', 'twice']);
  assert.equal(registry.get('twice')?.file, undefined, 'the definition given in code wins');
  assert.deepEqual(registry.failures.map((f) => [f.name, f.error]), [['twice', 'a pipeline named "twice" is already defined']]);
  assert.deepEqual(registry.info().find((p) => p.name === 'other'), {
    name: 'other', file: path.join(dir, 'other.mjs'), concurrency: undefined, timeoutMs: undefined, schedule: '0 3 * * *', tz: 'Europe/Madrid', webhook: 'unsigned',
  });
});
