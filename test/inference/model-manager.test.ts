/** The model manager with real ONNX files through the real onnxruntime-node loader. */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pino } from 'pino';
import { ModelManager, type ModelManagerOptions } from '../../src/inference/model-manager.js';
import { createOnnxLoader } from '../../src/inference/backends/onnx/index.js';
import { createRegistry, ServingMetrics } from '../../src/telemetry/metrics.js';
import { isLanguageModel, isTensorModel } from '../../src/inference/types.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel, writeCorruptModel } from '../helpers/onnx-models.js';

let repo: TempRepo;
let manager: ModelManager;
let metrics: ServingMetrics;

function makeManager(overrides: Partial<ModelManagerOptions> = {}): ModelManager {
  const logger = pino({ level: 'silent' });
  metrics = new ServingMetrics(createRegistry());
  manager = new ModelManager({
    repositoryDir: repo.dir,
    loaders: { onnx: createOnnxLoader({ threads: 1, instances: 1, execution: 'worker', spinning: false, executionProviders: 'auto', logger, metrics }) },
    budgetBytes: 1024 * 1024 * 1024,
    keepAliveSeconds: -1,
    load: 'eager',
    preferGpu: true,
    logger,
    metrics,
    ...overrides,
  });
  return manager;
}

function stateOf(name: string): string | undefined {
  return manager.status().find((s) => s.name === name)?.state;
}

async function metricValue(name: string, labels: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

beforeEach(() => {
  repo = tempRepo();
});

afterEach(async () => {
  await manager?.close();
  repo.remove();
});

describe('ModelManager', () => {
  test('a lease narrows by kind: an ONNX version reaches its inputs without a cast', async () => {
    writeAddModel(repo.versionPath('add', '1'));
    await makeManager().start();
    const lease = await manager.acquire('add');
    try {
      const model = lease.model;
      assert.equal(isTensorModel(model), true);
      assert.equal(isLanguageModel(model), false);
      // Type-checks only because LoadedModel is a union discriminated by kind.
      assert.deepEqual(model.kind === 'onnx' ? model.inputs.map((i) => i.name) : [], ['A', 'B']);
    } finally {
      lease.release();
    }
  });

  test('eager start loads every model and marks a corrupt one UNAVAILABLE with its reason', async () => {
    writeAddModel(repo.versionPath('good', '1'));
    writeCorruptModel(path.join(repo.dir, 'bad.onnx'));
    await makeManager().start();
    assert.equal(stateOf('good'), 'READY');
    const bad = manager.status().find((s) => s.name === 'bad')!;
    assert.equal(bad.state, 'UNAVAILABLE');
    assert.match(bad.reason!, /cpu: .*(Protobuf|parse|load)/i);
    await assert.rejects(manager.acquire('bad'), { code: 'FORJA_ERR_MODEL_UNAVAILABLE', statusCode: 503 });
  });

  test('when a load would exceed the budget, idle models are evicted least recently used first', async () => {
    for (const name of ['a', 'b', 'c']) {
      writeAddModel(repo.versionPath(name, '1'));
      repo.modelYaml(name, 'memory_bytes: 100\n');
    }
    await makeManager({ budgetBytes: 250, load: 'lazy' }).start();
    (await manager.acquire('a')).release();
    (await manager.acquire('b')).release();
    (await manager.acquire('a')).release(); // a is now more recent than b
    (await manager.acquire('c')).release();
    assert.equal(stateOf('b'), 'UNLOADED', 'b was least recently used');
    assert.equal(stateOf('a'), 'READY');
    assert.equal(stateOf('c'), 'READY');
    assert.equal(manager.usedBytes(), 200);
    assert.equal(await metricValue('forja_model_unloads_total', 'model="b",version="1",reason="evicted"'), 1);
  });

  test('a model in use is never evicted; the load that cannot fit is refused with 503', async () => {
    for (const name of ['a', 'b']) {
      writeAddModel(repo.versionPath(name, '1'));
      repo.modelYaml(name, 'memory_bytes: 100\n');
    }
    await makeManager({ budgetBytes: 150, load: 'lazy' }).start();
    const lease = await manager.acquire('a');
    await assert.rejects(manager.acquire('b'), (err: any) => err.statusCode === 503 && /memory budget/.test(err.message));
    assert.equal(stateOf('a'), 'READY');
    lease.release();
    (await manager.acquire('b')).release();
    assert.equal(stateOf('a'), 'UNLOADED');
  });

  test('a model bigger than the whole budget is refused without evicting anything', async () => {
    writeAddModel(repo.versionPath('small', '1'));
    writeAddModel(repo.versionPath('huge', '1'));
    repo.modelYaml('huge', 'memory_bytes: 1000000\n');
    repo.modelYaml('small', 'memory_bytes: 10\n');
    await makeManager({ budgetBytes: 1000 }).start();
    assert.equal(stateOf('small'), 'READY');
    assert.notEqual(stateOf('huge'), 'READY');
    await assert.rejects(manager.acquire('huge'), /whole memory budget/);
    assert.equal(stateOf('small'), 'READY');
  });

  test('keep_alive unloads an idle model once its last request is done', async () => {
    writeAddModel(repo.versionPath('brief', '1'));
    repo.modelYaml('brief', 'keep_alive: 0\n');
    await makeManager({ load: 'lazy' }).start();
    const lease = await manager.acquire('brief');
    assert.equal(stateOf('brief'), 'READY');
    const unloaded = new Promise<void>((resolve) => manager.once('unloading', () => resolve()));
    lease.release();
    await unloaded;
    await manager.acquire('brief').then((l) => l.release()); // loads again on demand
  });

  test('a request\'s keep-alive replaces the configured one: its expiry is reported, 0 unloads once the last request is done', async () => {
    writeAddModel(repo.versionPath('kept', '1'));
    await makeManager({ keepAliveSeconds: -1 }).start();
    const status = () => manager.status().find((s) => s.name === 'kept')!;
    assert.equal(status().keepAliveSeconds, -1);
    assert.equal(status().expiresAt, undefined, 'kept for ever: no expiry');

    const before = Date.now();
    (await manager.acquire('kept', undefined, { keepAliveSeconds: 600 })).release();
    assert.equal(status().keepAliveSeconds, 600);
    const expiresAt = status().expiresAt!;
    assert.ok(expiresAt >= before + 600_000 && expiresAt <= Date.now() + 600_000, `expires at ${expiresAt}`);

    // Two requests in flight: the model stays until the last one is done, whichever asked for 0.
    const first = await manager.acquire('kept', undefined, { keepAliveSeconds: 0 });
    const second = await manager.acquire('kept');
    assert.equal(status().expiresAt, undefined, 'no expiry while in use');
    first.release();
    assert.equal(status().state, 'READY');
    const third = await manager.acquire('kept', undefined, { keepAliveSeconds: 0 });
    second.release();
    assert.equal(status().state, 'READY');
    third.release();
    assert.equal(status().state, 'UNLOADING', 'unloading as soon as the last lease is released');
  });

  test('a keep-alive longer than setTimeout can wait is not fired at once', async () => {
    writeAddModel(repo.versionPath('long', '1'));
    await makeManager().start();
    (await manager.acquire('long', undefined, { keepAliveSeconds: 30 * 24 * 3600 })).release();
    // Node runs an overflowing delay as 1 ms: a 1 ms timer set after it runs after it.
    await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(stateOf('long'), 'READY');
  });

  test('an unload asked for while a request runs waits for that request', async () => {
    writeAddModel(repo.versionPath('busy', '1'));
    await makeManager().start();
    const lease = await manager.acquire('busy');
    let unloaded = false;
    const unloading = manager.unload('busy').then(() => { unloaded = true; });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(unloaded, false, 'still loaded while the lease is held');
    assert.equal(stateOf('busy'), 'UNLOADING');
    const out = await (lease.model as any).run([
      { name: 'A', datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) },
      { name: 'B', datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 1, 1, 1]) },
    ]);
    assert.deepEqual(Array.from(out[0].data), [2, 3, 4, 5], 'the in-flight request still runs');
    lease.release();
    await unloading;
    assert.equal(stateOf('busy'), 'UNLOADED');
    await assert.rejects(manager.acquire('busy'), { statusCode: 503 }, 'an explicitly unloaded model is not reloaded behind the operator');
    await manager.load('busy');
    assert.equal(stateOf('busy'), 'READY');
  });

  test('a configured CUDA provider that is not present falls back to CPU, logged and counted', async () => {
    writeAddModel(repo.versionPath('gpu', '1'));
    repo.modelYaml('gpu', 'execution_providers: [cuda, cpu]\n');
    await makeManager().start();
    const status = manager.status().find((s) => s.name === 'gpu')!;
    assert.equal(status.state, 'READY');
    // On a machine with a working CUDA provider there is no fallback to count.
    if (status.device === 'cpu') assert.equal(await metricValue('forja_model_fallbacks_total', 'model="gpu",version="1",from="cuda",to="cpu"'), 1);
  });

  test('unknown names are 404, unsafe names 400, unknown versions 404', async () => {
    writeAddModel(repo.versionPath('m', '1'));
    await makeManager({ load: 'lazy' }).start();
    await assert.rejects(manager.acquire('nope'), { statusCode: 404, code: 'FORJA_ERR_MODEL_NOT_FOUND' });
    await assert.rejects(manager.acquire('../m'), { statusCode: 400 });
    await assert.rejects(manager.acquire('m', '7'), { statusCode: 404, code: 'FORJA_ERR_MODEL_VERSION_NOT_FOUND' });
  });

  test('rescan picks up a model added after start', async () => {
    await makeManager({ load: 'lazy' }).start();
    assert.deepEqual(manager.modelNames(), []);
    writeAddModel(repo.versionPath('late', '1'));
    manager.rescan();
    (await manager.acquire('late')).release();
    assert.equal(stateOf('late'), 'READY');
  });
});
