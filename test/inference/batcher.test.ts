/** The dynamic batcher over a real onnxruntime session. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { DynamicBatcher, type BatcherOptions } from '../../src/inference/batcher.js';
import { createOnnxLoader } from '../../src/inference/backends/onnx/index.js';
import { createRegistry, ServingMetrics } from '../../src/telemetry/metrics.js';
import type { Tensor, TensorModel } from '../../src/inference/types.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel, writeFixedBatchModel } from '../helpers/onnx-models.js';

let repo: TempRepo;
let addModel: TensorModel;
let wideAddModel: TensorModel;
let fixedModel: TensorModel;

async function load(file: string): Promise<TensorModel> {
  const logger = pino({ level: 'silent' });
  const loader = createOnnxLoader({ threads: 1, instances: 1, execution: 'worker', spinning: false, executionProviders: ['cpu'], logger, metrics: new ServingMetrics(createRegistry()) });
  return (await loader.load({ name: 'm', version: '1', path: file, format: 'onnx', config: {} }, { preferGpu: false })) as TensorModel;
}

function rows(name: string, values: number[][]): Tensor {
  return { name, datatype: 'FP32', shape: [values.length, values[0].length], data: new Float32Array(values.flat()) };
}

function batcher(model: TensorModel, options: Partial<BatcherOptions>, batches: number[][] = []): DynamicBatcher {
  return new DynamicBatcher(model, {
    maxBatchSize: 16, maxQueueDelayMs: 0, maxQueueSize: 100, instances: 1,
    onBatch: ({ items, requests }) => batches.push([items, requests]),
    ...options,
  });
}

const far = () => performance.now() + 60_000;

before(async () => {
  repo = tempRepo();
  writeAddModel(repo.versionPath('add', '1'));
  writeAddModel(repo.versionPath('wide', '1'), { width: 8 });
  writeFixedBatchModel(repo.versionPath('fixed', '1'));
  addModel = await load(repo.versionPath('add', '1'));
  wideAddModel = await load(repo.versionPath('wide', '1'));
  fixedModel = await load(repo.versionPath('fixed', '1'));
});

after(async () => {
  await Promise.all([addModel.unload(), wideAddModel.unload(), fixedModel.unload()]);
  repo.remove();
});

describe('DynamicBatcher', () => {
  test('requests waiting together run as one batch and each gets its own rows back', async () => {
    const batches: number[][] = [];
    const b = batcher(addModel, { maxQueueDelayMs: 1000, maxBatchSize: 5 }, batches);
    const replies = await Promise.all([1, 2, 3, 4, 5].map((i) => b.enqueue({
      inputs: [rows('A', [[i, i, i, i]]), rows('B', [[1, 2, 3, 4]])], deadline: far(),
    })));
    assert.deepEqual(batches, [[5, 5]], 'five requests, one execution: the full batch left without waiting for the delay');
    replies.forEach((outputs, index) => {
      const i = index + 1;
      assert.deepEqual(Array.from(outputs.find((t) => t.name === 'SUM')!.data as Float32Array), [i + 1, i + 2, i + 3, i + 4]);
      assert.deepEqual(outputs[0].shape, [1, 4]);
    });
  });

  test('multi-row requests are concatenated and split by their own row counts', async () => {
    const batches: number[][] = [];
    const b = batcher(addModel, { maxQueueDelayMs: 20 }, batches);
    const [two, three] = await Promise.all([
      b.enqueue({ inputs: [rows('A', [[1, 1, 1, 1], [2, 2, 2, 2]]), rows('B', [[0, 0, 0, 0], [0, 0, 0, 0]])], deadline: far() }),
      b.enqueue({ inputs: [rows('A', [[3, 3, 3, 3], [4, 4, 4, 4], [5, 5, 5, 5]]), rows('B', [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]])], deadline: far() }),
    ]);
    assert.deepEqual(batches, [[5, 2]]);
    assert.deepEqual(two[0].shape, [2, 4]);
    assert.deepEqual(Array.from(three.find((t) => t.name === 'SUM')!.data as Float32Array), [4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6]);
  });

  test('requests whose non-batch shapes differ never share a batch', async () => {
    const batches: number[][] = [];
    const model = { ...wideAddModel, inputs: [{ name: 'A', datatype: 'FP32', shape: [-1, -1] }, { name: 'B', datatype: 'FP32', shape: [-1, -1] }], batchable: true, run: wideAddModel.run.bind(wideAddModel) } as TensorModel;
    const b = batcher(model, { maxQueueDelayMs: 20 }, batches);
    const replies = await Promise.all([
      b.enqueue({ inputs: [rows('A', [[1, 1, 1, 1, 1, 1, 1, 1]]), rows('B', [[1, 1, 1, 1, 1, 1, 1, 1]])], deadline: far() }),
      b.enqueue({ inputs: [rows('A', [[1, 2, 3, 4]]), rows('B', [[1, 1, 1, 1]])], deadline: far() }).catch((err) => err),
      b.enqueue({ inputs: [rows('A', [[2, 2, 2, 2, 2, 2, 2, 2]]), rows('B', [[1, 1, 1, 1, 1, 1, 1, 1]])], deadline: far() }),
    ]);
    assert.deepEqual(batches.find((x) => x[1] === 2), [2, 2], 'the two width-8 requests batched together');
    assert.ok(!batches.some((x) => x[1] === 3), 'the width-4 request did not join them');
    assert.deepEqual(Array.from(replies[2][0].data as Float32Array), [3, 3, 3, 3, 3, 3, 3, 3]);
  });

  test('a full queue answers 503 with Retry-After at once', async () => {
    const b = batcher(addModel, { maxQueueDelayMs: 200, maxQueueSize: 2, maxBatchSize: 16 });
    const input = () => ({ inputs: [rows('A', [[1, 1, 1, 1]]), rows('B', [[1, 1, 1, 1]])], deadline: far() });
    const first = [b.enqueue(input()), b.enqueue(input())];
    await assert.rejects(b.enqueue(input()), (err: any) => err.statusCode === 503 && err.code === 'FORJA_ERR_QUEUE_FULL' && err.headers['retry-after'] === '1');
    await Promise.all(first);
  });

  test('a request still queued at its deadline fails with a timeout', async () => {
    const b = batcher(addModel, { maxQueueDelayMs: 5000 });
    await assert.rejects(
      b.enqueue({ inputs: [rows('A', [[1, 1, 1, 1]]), rows('B', [[1, 1, 1, 1]])], deadline: performance.now() + 20 }),
      { code: 'FORJA_ERR_REQUEST_TIMEOUT', statusCode: 503 },
    );
  });

  test('a batch larger than max_batch_size is refused', async () => {
    const b = batcher(addModel, { maxBatchSize: 2 });
    await assert.rejects(b.enqueue({ inputs: [rows('A', [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]), rows('B', [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]])], deadline: far() }), /max_batch_size 2/);
  });

  test('a fixed-batch model runs one request per execution, up to `instances` at once', async () => {
    const batches: number[][] = [];
    let running = 0;
    let peak = 0;
    const tracked = { ...fixedModel, inputs: fixedModel.inputs, outputs: fixedModel.outputs, batchable: false, run: async (inputs: Tensor[], names?: string[]) => {
      running++;
      peak = Math.max(peak, running);
      try {
        return await fixedModel.run(inputs, names);
      } finally {
        running--;
      }
    } } as TensorModel;
    const b = batcher(tracked, { instances: 3, maxQueueDelayMs: 50 }, batches);
    const replies = await Promise.all(Array.from({ length: 9 }, (_, i) => b.enqueue({ inputs: [rows('A', [[i, i, i, i]]), rows('B', [[0, 0, 0, 0]])], deadline: far() })));
    assert.equal(batches.length, 9);
    assert.ok(batches.every(([items, requests]) => items === 1 && requests === 1));
    assert.equal(peak, 3, 'three executions overlapped');
    replies.forEach((outputs, i) => assert.deepEqual(Array.from(outputs[0].data as Float32Array), [i, i, i, i]));
  });

  test('stop() waits for queued work, then refuses new requests', async () => {
    const b = batcher(addModel, { maxQueueDelayMs: 30 });
    const pending = b.enqueue({ inputs: [rows('A', [[1, 1, 1, 1]]), rows('B', [[1, 1, 1, 1]])], deadline: far() });
    await b.stop();
    assert.equal(b.inFlight, 0);
    await pending;
    await assert.rejects(b.enqueue({ inputs: [rows('A', [[1, 1, 1, 1]]), rows('B', [[1, 1, 1, 1]])], deadline: far() }), { statusCode: 503 });
  });
});

test('background (pipeline) requests wait behind foreground (HTTP) ones', async () => {
  const order: string[] = [];
  const b = batcher(addModel, { maxBatchSize: 1, maxQueueDelayMs: 0 });
  const input = () => [rows('A', [[1, 1, 1, 1]]), rows('B', [[1, 1, 1, 1]])];
  const first = b.enqueue({ inputs: input(), deadline: far() }).then(() => order.push('running'));
  const background = b.enqueue({ inputs: input(), deadline: far(), background: true }).then(() => order.push('background'));
  const foreground = b.enqueue({ inputs: input(), deadline: far() }).then(() => order.push('foreground'));
  await Promise.all([first, background, foreground]);
  assert.deepEqual(order, ['running', 'foreground', 'background']);
});
