/**
 * Triton's model configuration and statistics extensions over REST against a real `forja serve`:
 * the effective configuration (model.yaml over server defaults, tensors from the file) and the
 * statistics shape, with counts that follow real requests and batches.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel, writeFixedBatchModel, writeIdentityModel } from '../helpers/onnx-models.js';
import path from 'node:path';

let repo: TempRepo;
let server: ServerProcess;

async function get(urlPath: string) {
  const res = await fetch(server.url + urlPath);
  return { status: res.status, json: (await res.json()) as any };
}

function infer(model: string, rows: number) {
  const data = Array.from({ length: rows * 4 }, (_, i) => i);
  return fetch(`${server.url}/v2/models/${model}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [
    { name: 'A', shape: [rows, 4], datatype: 'FP32', data },
    { name: 'B', shape: [rows, 4], datatype: 'FP32', data },
  ] }) });
}

before(async () => {
  repo = tempRepo();
  writeAddModel(repo.versionPath('add', '1'));
  writeAddModel(repo.versionPath('tuned', '1'));
  writeAddModel(repo.versionPath('tuned', '2'));
  repo.modelYaml('tuned', 'max_batch_size: 16\nmax_queue_delay_ms: 250\npreferred_batch_sizes: [4, 8]\ninstances: 2\nthreads: 2\nexecution: worker\nexecution_providers: [cpu]\ntimeout_ms: 5000\n');
  writeFixedBatchModel(path.join(repo.dir, 'fixed.onnx'));
  writeIdentityModel(repo.versionPath('strings', '1'), 'BYTES');
  server = await startServer(['--models', repo.dir], { env: { FORJA_MODELS__MAX_BATCH_SIZE: '32', FORJA_MODELS__MAX_QUEUE_SIZE: '77' } });
});

after(async () => {
  await server?.stop();
  repo?.remove();
});

describe('GET /v2/models/{m}/config', () => {
  test('model.yaml settings win over the server defaults', async () => {
    const { status, json } = await get('/v2/models/tuned/config');
    assert.equal(status, 200);
    assert.equal(json.name, 'tuned');
    assert.equal(json.platform, 'onnxruntime_onnx');
    assert.equal(json.backend, 'onnxruntime');
    assert.equal(json.max_batch_size, 16);
    assert.deepEqual(json.dynamic_batching, { preferred_batch_size: [4, 8], max_queue_delay_microseconds: 250000 });
    assert.deepEqual(json.instance_group, [{ name: 'tuned_0', kind: 'KIND_CPU', count: 2 }]);
    assert.equal(json.parameters.threads.string_value, '2');
    assert.equal(json.parameters.execution.string_value, 'worker');
    assert.equal(json.parameters.execution_in_use.string_value, 'worker');
    assert.equal(json.parameters.execution_providers.string_value, 'cpu');
    assert.equal(json.parameters.timeout_ms.string_value, '5000');
    assert.equal(json.parameters.max_queue_size.string_value, '77', 'a server default where model.yaml is silent');
    assert.equal(json.parameters.version.string_value, '2', 'the default version is the highest');
  });

  test('defaults apply where model.yaml says nothing; dims leave out the batch dimension', async () => {
    const { json } = await get('/v2/models/add/versions/1/config');
    assert.equal(json.max_batch_size, 32);
    assert.deepEqual(json.input, [{ name: 'A', data_type: 'TYPE_FP32', dims: [4] }, { name: 'B', data_type: 'TYPE_FP32', dims: [4] }]);
    assert.deepEqual(json.output.map((o: any) => o.name).sort(), ['DIFF', 'SUM']);
    assert.equal(json.dynamic_batching.max_queue_delay_microseconds, 0);
    assert.equal(json.parameters.version.string_value, '1');
  });

  test('a model that cannot batch reports max_batch_size 0 and full dims; BYTES is TYPE_STRING', async () => {
    const fixed = (await get('/v2/models/fixed/config')).json;
    assert.equal(fixed.max_batch_size, 0);
    assert.equal(fixed.dynamic_batching, undefined);
    assert.deepEqual(fixed.input[0].dims, [1, 4]);
    assert.equal((await get('/v2/models/strings/config')).json.input[0].data_type, 'TYPE_STRING');
  });

  test('unknown model or version: 404', async () => {
    assert.equal((await get('/v2/models/nope/config')).status, 404);
    assert.equal((await get('/v2/models/add/versions/7/config')).status, 404);
  });
});

describe('GET /v2/models[/{m}[/versions/{v}]]/stats', () => {
  test('counts requests, items, executions and batch sizes of one version', async () => {
    const before = (await get('/v2/models/add/stats')).json.model_stats[0];
    assert.equal((await infer('add', 3)).status, 200);
    assert.equal((await infer('add', 1)).status, 200);
    const bad = await fetch(`${server.url}/v2/models/add/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'A', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }) });
    assert.equal(bad.status, 400);
    const { status, json } = await get('/v2/models/add/versions/1/stats');
    assert.equal(status, 200);
    const s = json.model_stats[0];
    assert.equal(s.name, 'add');
    assert.equal(s.version, '1');
    assert.equal(s.inference_count - before.inference_count, 4);
    assert.equal(s.execution_count - before.execution_count, 2);
    const d = s.inference_stats;
    assert.equal(d.success.count - before.inference_stats.success.count, 2);
    assert.equal(d.fail.count - before.inference_stats.fail.count, 1);
    assert.equal(d.queue.count - before.inference_stats.queue.count, 2);
    for (const key of ['success', 'fail', 'queue', 'compute_input', 'compute_infer', 'compute_output']) {
      assert.ok(Number.isInteger(d[key].ns) && Number.isInteger(d[key].count), key);
    }
    assert.ok(d.compute_infer.ns > 0);
    assert.ok(d.success.ns >= d.compute_infer.ns, 'a request takes at least its compute time');
    const sizes = s.batch_stats.map((b: any) => b.batch_size);
    assert.ok(sizes.includes(1) && sizes.includes(3), JSON.stringify(s.batch_stats));
    assert.deepEqual(Object.keys(s.batch_stats[0]).sort(), ['batch_size', 'compute_infer', 'compute_input', 'compute_output']);
    assert.ok(Math.abs(s.last_inference - Date.now()) < 60_000);
  });

  test('every version of a model, and every model', async () => {
    assert.deepEqual((await get('/v2/models/tuned/stats')).json.model_stats.map((s: any) => s.version), ['1', '2']);
    const all = (await get('/v2/models/stats')).json.model_stats.map((s: any) => `${s.name}/${s.version}`);
    for (const id of ['add/1', 'tuned/1', 'tuned/2', 'fixed/1', 'strings/1']) assert.ok(all.includes(id), id);
    const fresh = (await get('/v2/models/tuned/versions/1/stats')).json.model_stats[0];
    assert.equal(fresh.inference_count, 0);
    assert.deepEqual(fresh.batch_stats, []);
  });

  test('unknown model or version: 404; server metadata lists both extensions', async () => {
    assert.equal((await get('/v2/models/nope/stats')).status, 404);
    assert.equal((await get('/v2/models/add/versions/5/stats')).status, 404);
    const { json } = await get('/v2');
    assert.ok(json.extensions.includes('statistics') && json.extensions.includes('model_configuration'));
  });
});
