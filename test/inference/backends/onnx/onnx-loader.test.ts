/** Where the ONNX loader runs sessions, and that each placement computes the same results. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createOnnxLoader, OnnxModel } from '../../../../src/inference/backends/onnx/index.js';
import { zeroInputs } from '../../../../src/inference/backends/onnx/warmup.js';
import { createRegistry, ServingMetrics } from '../../../../src/telemetry/metrics.js';
import type { ModelConfig } from '../../../../src/inference/model-config.js';
import type { TensorModel } from '../../../../src/inference/types.js';
import { tempRepo, type TempRepo } from '../../../helpers/model-repo.js';
import { writeAddModel, writeIdentityModel } from '../../../helpers/onnx-models.js';

let repo: TempRepo;
const logger = pino({ level: 'silent' });

before(() => {
  repo = tempRepo();
  writeAddModel(repo.versionPath('add', '1'));
  writeIdentityModel(repo.versionPath('free', '1'), 'FP32', { shape: ['batch', 'width'] });
});
after(() => repo.remove());

async function load(name: string, config: ModelConfig, execution: 'auto' | 'worker' | 'inline' = 'auto'): Promise<OnnxModel> {
  const loader = createOnnxLoader({ threads: 1, instances: 1, execution, spinning: false, executionProviders: ['cpu'], logger, metrics: new ServingMetrics(createRegistry()) });
  return (await loader.load({ name, version: '1', path: repo.versionPath(name, '1'), format: 'onnx', config }, { preferGpu: false })) as OnnxModel;
}

async function sum(model: TensorModel): Promise<number[]> {
  const out = await model.run([
    { name: 'A', datatype: 'FP32', shape: [2, 4], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]) },
    { name: 'B', datatype: 'FP32', shape: [2, 4], data: new Float32Array(8).fill(1) },
  ], ['SUM']);
  return Array.from(out[0].data as Float32Array);
}

test('worker and inline placements give the same results', async () => {
  const onWorker = await load('add', {}, 'worker');
  const inline = await load('add', { execution: 'inline' }, 'worker');
  assert.equal(onWorker.execution, 'threads');
  assert.equal(inline.execution, 'inline', 'model.yaml execution wins over the server default');
  assert.deepEqual(await sum(onWorker), [2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(await sum(inline), await sum(onWorker));
  await Promise.all([onWorker.unload(), inline.unload()]);
});

test('several instances are several worker sessions serving concurrent runs', async () => {
  const model = await load('add', { instances: 3 }, 'worker');
  const results = await Promise.all(Array.from({ length: 6 }, () => sum(model)));
  for (const r of results) assert.deepEqual(r, [2, 3, 4, 5, 6, 7, 8, 9]);
  await model.unload();
});

test('auto keeps a model whose warm-up inputs cannot be made on its worker', async () => {
  const model = await load('free', {});
  assert.equal(model.execution, 'threads');
  await model.unload();
});

test('warm-up inputs: batch 1 zeros, none when a non-batch dimension is dynamic', () => {
  const inputs = zeroInputs([{ name: 'x', datatype: 'INT64', shape: [-1, 3] }, { name: 's', datatype: 'BYTES', shape: [2] }])!;
  assert.deepEqual(inputs.map((t) => t.shape), [[1, 3], [2]]);
  assert.ok(inputs[0].data instanceof BigInt64Array);
  assert.deepEqual(inputs[1].data, ['', '']);
  assert.equal(zeroInputs([{ name: 'x', datatype: 'FP32', shape: [-1, -1] }]), undefined);
});

test('a worker-side runtime error surfaces as a rejected run, and the model keeps working', async () => {
  const model = await load('add', {}, 'worker');
  try {
    await assert.rejects(model.run([
      { name: 'A', datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) },
      { name: 'B', datatype: 'FP32', shape: [2, 4], data: new Float32Array(8) },
    ]), /dimension|shape/i);
    assert.deepEqual(await sum(model), [2, 3, 4, 5, 6, 7, 8, 9]);
  } finally {
    await model.unload();
  }
});
