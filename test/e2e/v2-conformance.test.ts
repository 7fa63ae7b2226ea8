/**
 * Walks every Open Inference Protocol v2 endpoint of a real `forja serve` child process,
 * with models generated through the real onnxruntime-node, and checks each documented error.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { SUPPORTED_IDENTITY_DATATYPES, writeAddModel, writeCorruptModel, writeFixedBatchModel, writeIdentityModel, writeMlpModel } from '../helpers/onnx-models.js';

let repo: TempRepo;
let server: ServerProcess;

const BODY_LIMIT = 1024 * 1024;

async function post(urlPath: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + urlPath, { method: 'POST', body: typeof body === 'string' ? body : Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

async function get(urlPath: string) {
  const res = await fetch(server.url + urlPath);
  return { status: res.status, json: (await res.json()) as any, headers: res.headers };
}

function addRequest(rows: number[][], other: number[][] = rows) {
  return { inputs: [
    { name: 'A', shape: [rows.length, 4], datatype: 'FP32', data: rows },
    { name: 'B', shape: [other.length, 4], datatype: 'FP32', data: other.flat() },
  ] };
}

function identityValues(datatype: string): unknown[] {
  switch (datatype) {
    case 'BOOL': return [true, false, true];
    case 'BYTES': return ['hello', '', 'żółw 🐢'];
    case 'FP16': return [1, -2.5, 0.5];
    case 'FP32': case 'FP64': return [1.5, -2.25, 1e10];
    case 'INT8': case 'INT16': case 'INT32': case 'INT64': return [-3, 0, 7];
    default: return [0, 1, 200];
  }
}

before(async () => {
  repo = tempRepo();
  writeAddModel(repo.versionPath('add', '1'));
  writeMlpModel(repo.versionPath('mlp', '1'), { seed: 7 });
  writeFixedBatchModel(path.join(repo.dir, 'fixed.onnx'));
  repo.modelYaml('fixed', 'instances: 2\n');
  writeCorruptModel(path.join(repo.dir, 'broken.onnx'));
  for (const dt of SUPPORTED_IDENTITY_DATATYPES) writeIdentityModel(repo.versionPath(`id_${dt.toLowerCase()}`, '1'), dt);
  writeAddModel(repo.versionPath('multi', '1'));
  writeIdentityModel(repo.versionPath('multi', '3'), 'FP32');
  writeAddModel(repo.versionPath('lazy', '1'));
  repo.modelYaml('lazy', 'load: lazy\n');
  writeAddModel(repo.versionPath('batched', '1'));
  repo.modelYaml('batched', 'max_queue_delay_ms: 200\nmax_batch_size: 64\n');
  writeAddModel(repo.versionPath('badyaml', '1'));
  repo.modelYaml('badyaml', 'max_batch_size: many\n');
  server = await startServer(['--models', repo.dir], { env: { FORJA_SERVER__BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
});

after(async () => {
  const code = await server?.stop();
  repo?.remove();
  assert.equal(code, 0, 'SIGTERM exits 0');
});

describe('health and metadata', () => {
  test('live and ready answer 200', async () => {
    assert.equal((await get('/v2/health/live')).status, 200);
    assert.deepEqual((await get('/v2/health/ready')).json, { ready: true });
  });

  test('server metadata names the server and its extensions', async () => {
    const { json } = await get('/v2');
    assert.equal(json.name, 'forja');
    assert.match(json.version, /^\d+\.\d+\.\d+/);
    assert.ok(json.extensions.includes('binary_tensor_data'));
    assert.ok(json.extensions.includes('model_repository'));
  });

  test('model metadata comes from the model file, with -1 for dynamic dimensions', async () => {
    const { status, json } = await get('/v2/models/add');
    assert.equal(status, 200);
    assert.equal(json.platform, 'onnxruntime_onnx');
    assert.deepEqual(json.versions, ['1']);
    assert.deepEqual(json.inputs, [{ name: 'A', datatype: 'FP32', shape: [-1, 4] }, { name: 'B', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(json.outputs.map((o: any) => o.name).sort(), ['DIFF', 'SUM']);
    const fixed = await get('/v2/models/fixed/versions/1');
    assert.deepEqual(fixed.json.inputs[0].shape, [1, 4]);
  });

  test('versions: the default is the highest, each version has its own metadata', async () => {
    assert.deepEqual((await get('/v2/models/multi')).json.versions, ['1', '3']);
    assert.equal((await get('/v2/models/multi')).json.inputs[0].name, 'INPUT0');
    assert.equal((await get('/v2/models/multi/versions/1')).json.inputs[0].name, 'A');
    assert.equal((await get('/v2/models/multi/versions/2')).status, 404);
  });

  test('model ready: 200 when loaded, 503 with the reason when not, 404 when unknown', async () => {
    assert.equal((await get('/v2/models/add/ready')).status, 200);
    assert.equal((await get('/v2/models/add/versions/1/ready')).status, 200);
    const broken = await get('/v2/models/broken/ready');
    assert.equal(broken.status, 503);
    assert.match(broken.json.error, /UNAVAILABLE/);
    const badYaml = await get('/v2/models/badyaml/ready');
    assert.equal(badYaml.status, 503);
    assert.match(badYaml.json.error, /max_batch_size/);
    assert.equal((await get('/v2/models/nope/ready')).status, 404);
  });
});

describe('infer', () => {
  test('adds and subtracts with flat and nested data, echoing the id', async () => {
    const body = { id: 'req-1', ...addRequest([[1, 2, 3, 4], [10, 20, 30, 40]], [[1, 1, 1, 1], [2, 2, 2, 2]]) };
    const { status, json } = await post('/v2/models/add/infer', body);
    assert.equal(status, 200);
    assert.equal(json.model_name, 'add');
    assert.equal(json.model_version, '1');
    assert.equal(json.id, 'req-1');
    const sum = json.outputs.find((o: any) => o.name === 'SUM');
    assert.deepEqual(sum.shape, [2, 4]);
    assert.deepEqual(sum.data, [2, 3, 4, 5, 12, 22, 32, 42]);
    assert.deepEqual(json.outputs.find((o: any) => o.name === 'DIFF').data, [0, 1, 2, 3, 8, 18, 28, 38]);
  });

  test('returns only the requested outputs', async () => {
    const { json } = await post('/v2/models/add/infer', { ...addRequest([[1, 2, 3, 4]]), outputs: [{ name: 'DIFF' }] });
    assert.deepEqual(json.outputs.map((o: any) => o.name), ['DIFF']);
  });

  test('every datatype the runtime supports round-trips as JSON', async () => {
    for (const dt of SUPPORTED_IDENTITY_DATATYPES) {
      const data = identityValues(dt);
      const { status, json } = await post(`/v2/models/id_${dt.toLowerCase()}/infer`, { inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: dt, data }] });
      assert.equal(status, 200, `${dt}: ${JSON.stringify(json)}`);
      assert.equal(json.outputs[0].datatype, dt);
      assert.deepEqual(json.outputs[0].data, data, dt);
    }
  });

  test('binary tensor data extension: binary inputs and binary outputs', async () => {
    const a = new Float32Array([1, 2, 3, 4]);
    const b = new Float32Array([0.5, 0.5, 0.5, 0.5]);
    const header = Buffer.from(JSON.stringify({
      inputs: [
        { name: 'A', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } },
        { name: 'B', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } },
      ],
      outputs: [{ name: 'SUM', parameters: { binary_data: true } }, { name: 'DIFF', parameters: { binary_data: false } }],
    }));
    const body = Buffer.concat([header, Buffer.from(a.buffer), Buffer.from(b.buffer)]);
    const res = await fetch(server.url + '/v2/models/add/infer', { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) } });
    assert.equal(res.status, 200);
    const headerLength = Number(res.headers.get('inference-header-content-length'));
    const raw = Buffer.from(await res.arrayBuffer());
    const json = JSON.parse(raw.subarray(0, headerLength).toString());
    const sum = json.outputs.find((o: any) => o.name === 'SUM');
    assert.equal(sum.parameters.binary_data_size, 16);
    assert.equal(sum.data, undefined);
    const blob = raw.subarray(headerLength);
    assert.deepEqual(Array.from(new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + 16))), [1.5, 2.5, 3.5, 4.5]);
    assert.deepEqual(json.outputs.find((o: any) => o.name === 'DIFF').data, [0.5, 1.5, 2.5, 3.5]);
  });

  test('binary BYTES input with length-prefixed elements', async () => {
    const elements = ['ab', 'ü', 'xyz'].map((s) => {
      const bytes = Buffer.from(s);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(bytes.length);
      return Buffer.concat([len, bytes]);
    });
    const blob = Buffer.concat(elements);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: 'BYTES', parameters: { binary_data_size: blob.length } }] }));
    const res = await post('/v2/models/id_bytes/infer', Buffer.concat([header, blob]), { 'inference-header-content-length': String(header.length) });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.outputs[0].data, ['ab', 'ü', 'xyz']);
  });

  test('a fixed-batch model serves many concurrent clients through its instances', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => post('/v2/models/fixed/infer', { inputs: [
      { name: 'A', shape: [1, 4], datatype: 'FP32', data: [i, i, i, i] },
      { name: 'B', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
    ] })));
    replies.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.outputs.find((o: any) => o.name === 'SUM').data, [i + 1, i + 1, i + 1, i + 1]);
    });
  });

  test('concurrent requests to a batchable model run as fewer batches, each answered with its own rows', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => post('/v2/models/batched/infer', addRequest([[i, 0, 0, 0]], [[0, i, 0, 0]]))));
    replies.forEach((r, i) => assert.deepEqual(r.json.outputs.find((o: any) => o.name === 'SUM').data, [i, i, 0, 0]));
    const metrics = await (await fetch(server.url + '/metrics')).text();
    const count = Number(/forja_inference_batch_size_count\{model="batched",version="1"\} (\d+)/.exec(metrics)?.[1]);
    const sum = Number(/forja_inference_batch_size_sum\{model="batched",version="1"\} (\d+)/.exec(metrics)?.[1]);
    assert.equal(sum, 8, 'all 8 rows ran');
    assert.ok(count < 8, `8 requests ran in ${count} batches`);
  });

  test('a lazy model loads on its first request', async () => {
    const before = (await post('/v2/repository/index', {})).json.find((m: any) => m.name === 'lazy');
    assert.equal(before.state, 'UNLOADED');
    assert.equal((await post('/v2/models/lazy/infer', addRequest([[1, 1, 1, 1]]))).status, 200);
    assert.equal((await get('/v2/models/lazy/ready')).status, 200);
  });
});

describe('repository extension', () => {
  test('index lists every version with its state and reason', async () => {
    const { status, json } = await post('/v2/repository/index', {});
    assert.equal(status, 200);
    const add = json.find((m: any) => m.name === 'add');
    assert.deepEqual(add, { name: 'add', version: '1', state: 'READY', reason: '' });
    const broken = json.find((m: any) => m.name === 'broken');
    assert.equal(broken.state, 'UNAVAILABLE');
    assert.ok(broken.reason.length > 0);
    const readyOnly = (await post('/v2/repository/index', { ready: true })).json;
    assert.ok(readyOnly.every((m: any) => m.state === 'READY'));
  });

  test('unload makes infer answer 503 clearly; load brings it back', async () => {
    assert.equal((await post('/v2/repository/models/mlp/unload', '')).status, 200);
    assert.equal((await get('/v2/models/mlp/ready')).status, 503);
    const x = Array.from({ length: 64 }, (_, i) => i / 64);
    const refused = await post('/v2/models/mlp/infer', { inputs: [{ name: 'x', shape: [1, 64], datatype: 'FP32', data: x }] });
    assert.equal(refused.status, 503);
    assert.match(refused.json.error, /unloaded.*load/);
    assert.equal((await post('/v2/repository/models/mlp/load', '')).status, 200);
    const ok = await post('/v2/models/mlp/infer', { inputs: [{ name: 'x', shape: [1, 64], datatype: 'FP32', data: x }] });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json.outputs[0].shape, [1, 10]);
  });

  test('load of an unknown model is 404, of a corrupt one 503 with the reason', async () => {
    assert.equal((await post('/v2/repository/models/nope/load', '')).status, 404);
    const broken = await post('/v2/repository/models/broken/load', '');
    assert.equal(broken.status, 503);
    assert.match(broken.json.error, /broken/);
  });
});

describe('bad input: a clear {"error"} and the right status', () => {
  const cases: Array<[string, () => Promise<{ status: number; json: any }>, number, RegExp]> = [
    ['malformed JSON', () => post('/v2/models/add/infer', '{"inputs": ['), 400, /malformed JSON/],
    ['empty body', () => post('/v2/models/add/infer', ''), 400, /empty/],
    ['no inputs', () => post('/v2/models/add/infer', { inputs: [] }), 400, /inputs/],
    ['unknown model', () => post('/v2/models/nope/infer', addRequest([[1, 2, 3, 4]])), 404, /nope/],
    ['unknown version', () => post('/v2/models/add/versions/9/infer', addRequest([[1, 2, 3, 4]])), 404, /version '9'/],
    ['missing input', () => post('/v2/models/add/infer', { inputs: [addRequest([[1, 2, 3, 4]]).inputs[0]] }), 400, /missing input 'B'/],
    ['unknown input', () => post('/v2/models/add/infer', { inputs: [...addRequest([[1, 2, 3, 4]]).inputs, { name: 'C', shape: [1], datatype: 'FP32', data: [1] }] }), 400, /unknown input 'C'/],
    ['duplicated input', () => post('/v2/models/add/infer', { inputs: [addRequest([[1, 2, 3, 4]]).inputs[0], addRequest([[1, 2, 3, 4]]).inputs[0]] }), 400, /'A' is given more than once/],
    ['wrong datatype', () => post('/v2/models/add/infer', { inputs: addRequest([[1, 2, 3, 4]]).inputs.map((t) => ({ ...t, datatype: 'INT32' })) }), 400, /INT32.*expects FP32/],
    ['unknown datatype', () => post('/v2/models/add/infer', { inputs: addRequest([[1, 2, 3, 4]]).inputs.map((t) => ({ ...t, datatype: 'FP128' })) }), 400, /datatype/],
    ['data length vs shape', () => post('/v2/models/add/infer', { inputs: addRequest([[1, 2, 3, 4]]).inputs.map((t) => ({ ...t, shape: [2, 4] })) }), 400, /needs 8 elements, got 4/],
    ['wrong element type', () => post('/v2/models/add/infer', { inputs: addRequest([[1, 2, 3, 4]]).inputs.map((t) => ({ ...t, data: ['a', 2, 3, 4] })) }), 400, /expected a number/],
    ['wrong rank', () => post('/v2/models/add/infer', { inputs: addRequest([[1, 2, 3, 4]]).inputs.map((t) => ({ ...t, shape: [4] })) }), 400, /expects \[-1,4\]/],
    ['unknown output', () => post('/v2/models/add/infer', { ...addRequest([[1, 2, 3, 4]]), outputs: [{ name: 'PRODUCT' }] }), 400, /unknown output 'PRODUCT'/],
    ['body over the limit', () => post('/v2/models/add/infer', JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT + 10) })), 413, /.+/],
    ['bad binary header', () => post('/v2/models/add/infer', '{}', { 'inference-header-content-length': 'lots' }), 400, /Inference-Header-Content-Length/],
    ['LLM-style traversal in model name', () => post('/v2/models/..%2F..%2Fetc%2Fpasswd/infer', addRequest([[1, 2, 3, 4]])), 400, /invalid model name/],
    ['absolute path as model name', () => get('/v2/models/%2Fetc%2Fpasswd'), 400, /invalid model name/],
    ['dot-dot model name', () => get('/v2/models/../ready'), 404, /.+/],
    ['traversal in version', () => get('/v2/models/add/versions/..%2F..%2Fadd'), 400, /invalid version name/],
    ['unknown route', () => get('/v2/nothing/here'), 404, /no route/],
  ];
  for (const [name, call, status, message] of cases) {
    test(name, async () => {
      const res = await call();
      assert.equal(res.status, status, JSON.stringify(res.json));
      assert.equal(typeof res.json?.error, 'string', 'error body is {"error": "..."}');
      assert.match(res.json.error, message);
    });
  }

  test('the server is still healthy after all of that', async () => {
    assert.equal((await get('/v2/health/ready')).status, 200);
    assert.equal((await post('/v2/models/add/infer', addRequest([[1, 2, 3, 4]]))).status, 200);
  });
});

describe('operations endpoints', () => {
  test('/metrics exposes the serving metrics with a request id on every reply', async () => {
    const res = await fetch(server.url + '/metrics', { headers: { 'x-request-id': 'trace-42' } });
    assert.equal(res.headers.get('x-request-id'), 'trace-42');
    const text = await res.text();
    for (const name of ['forja_inference_requests_total', 'forja_inference_request_duration_seconds', 'forja_inference_queue_duration_seconds', 'forja_inference_compute_duration_seconds', 'forja_inference_batch_size', 'forja_inference_queue_depth', 'forja_models_loaded', 'forja_model_memory_bytes', 'forja_process_resident_memory_bytes']) {
      assert.ok(text.includes(name), name);
    }
    assert.match(text, /forja_inference_requests_total\{protocol="v2",model="add",version="1",status="200"\} \d+/);
    assert.match(text, /forja_inference_requests_total\{protocol="v2",model="_unknown",version="",status="404"\} \d+/);
    writeFileSync(path.join(repo.dir, 'metrics.txt'), text);
  });

  test('/metrics passes promtool check metrics', (t) => {
    const promtool = spawnSync('promtool', ['--version']);
    if (promtool.error) {
      assert.notEqual(process.env.CI, 'true', 'promtool must be installed under CI (Debian package prometheus)');
      t.skip('promtool not installed (apt-get install prometheus)');
      return;
    }
    const check = spawnSync('promtool', ['check', 'metrics'], { input: readFileSync(path.join(repo.dir, 'metrics.txt')) });
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
  });

  test('/openapi.json is generated from the request schemas and /docs serves a page', async () => {
    const doc = (await get('/openapi.json')).json;
    assert.equal(doc.openapi, '3.0.3');
    const infer = doc.paths['/v2/models/{model}/infer'].post;
    const schema = infer.requestBody.content['application/json'].schema;
    assert.ok(schema.properties.inputs, 'infer body schema has inputs');
    assert.ok(schema.properties.inputs.items.properties.datatype.enum.includes('BYTES'));
    const chat = doc.paths['/v1/chat/completions'].post.requestBody.content['application/json'].schema;
    assert.ok(chat.properties.messages, 'the OpenAI chat body schema is documented');
    assert.deepEqual(doc.paths['/v2/models/{model}/versions/{version}/infer'].post.parameters.map((p: any) => p.name), ['model', 'version']);
    // The document describes the routes this server has: no pipelines directory, no jobs API.
    assert.equal(doc.paths['/api/jobs'], undefined);
    const page = await fetch(server.url + '/docs/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /html/);
  });
});
