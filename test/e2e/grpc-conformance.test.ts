/**
 * The Open Inference Protocol over gRPC against a real `forja serve` child process, with a real
 * @grpc/grpc-js client built from the protocol files: every RPC, every datatype typed and raw, the
 * bad-input cases of the REST suite (same messages, gRPC status codes, FORJA_ERR_* in the trailers),
 * broken protobuf and messages over the limit, and gRPC and REST requests sharing batches.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { status as Status, type ClientDuplexStream } from '@grpc/grpc-js';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { SUPPORTED_IDENTITY_DATATYPES, writeAddModel, writeCorruptModel, writeIdentityModel, writeMlpModel } from '../helpers/onnx-models.js';
import { healthClient, inferenceClient, rawBytesCall, rejection, type GrpcClient } from '../helpers/grpc-client.js';

const BODY_LIMIT = 1024 * 1024;
let repo: TempRepo;
let server: ServerProcess;
let client: GrpcClient;

const CONTENTS: Record<string, string> = {
  BOOL: 'bool_contents', INT8: 'int_contents', INT16: 'int_contents', INT32: 'int_contents', INT64: 'int64_contents',
  UINT8: 'uint_contents', UINT16: 'uint_contents', UINT32: 'uint_contents', UINT64: 'uint64_contents',
  FP32: 'fp32_contents', FP64: 'fp64_contents', BYTES: 'bytes_contents',
};

/** Three values of a datatype, as the typed contents field carries them (64-bit integers as strings). */
function typedValues(datatype: string): unknown[] {
  switch (datatype) {
    case 'BOOL': return [true, false, true];
    case 'BYTES': return [Buffer.from('hello'), Buffer.from(''), Buffer.from('żółw 🐢')];
    case 'FP32': case 'FP64': return [1.5, -2.25, 1e10];
    case 'INT8': case 'INT16': case 'INT32': return [-3, 0, 7];
    case 'INT64': return ['-9007199254740993', '0', '7'];
    case 'UINT64': return ['0', '1', '18446744073709551615'];
    default: return [0, 1, 200];
  }
}

/** The same three values as little-endian raw bytes (BYTES: 4-byte length + bytes per element). */
function rawValues(datatype: string): Buffer {
  const values = typedValues(datatype);
  switch (datatype) {
    case 'BOOL': return Buffer.from([1, 0, 1]);
    case 'BYTES': return Buffer.concat((values as Buffer[]).flatMap((b) => { const n = Buffer.alloc(4); n.writeUInt32LE(b.length); return [n, b]; }));
    case 'FP16': return Buffer.from(new Uint16Array([0x3c00, 0xc100, 0x3800]).buffer); // 1, -2.5, 0.5
    case 'FP32': return Buffer.from(new Float32Array(values as number[]).buffer);
    case 'FP64': return Buffer.from(new Float64Array(values as number[]).buffer);
    case 'INT8': return Buffer.from(new Int8Array(values as number[]).buffer);
    case 'INT16': return Buffer.from(new Int16Array(values as number[]).buffer);
    case 'INT32': return Buffer.from(new Int32Array(values as number[]).buffer);
    case 'INT64': return Buffer.from(new BigInt64Array((values as string[]).map(BigInt)).buffer);
    case 'UINT8': return Buffer.from(new Uint8Array(values as number[]).buffer);
    case 'UINT16': return Buffer.from(new Uint16Array(values as number[]).buffer);
    case 'UINT32': return Buffer.from(new Uint32Array(values as number[]).buffer);
    case 'UINT64': return Buffer.from(new BigUint64Array((values as string[]).map(BigInt)).buffer);
    default: throw new Error(datatype);
  }
}

function addInputs(rows: number[][], other: number[][] = rows) {
  return [
    { name: 'A', datatype: 'FP32', shape: [rows.length, 4], contents: { fp32_contents: rows.flat() } },
    { name: 'B', datatype: 'FP32', shape: [other.length, 4], contents: { fp32_contents: other.flat() } },
  ];
}

before(async () => {
  repo = tempRepo();
  writeAddModel(repo.versionPath('add', '1'));
  writeMlpModel(repo.versionPath('mlp', '1'), { seed: 7 });
  writeCorruptModel(path.join(repo.dir, 'broken.onnx'));
  for (const dt of SUPPORTED_IDENTITY_DATATYPES) writeIdentityModel(repo.versionPath(`id_${dt.toLowerCase()}`, '1'), dt);
  writeAddModel(repo.versionPath('multi', '1'));
  writeIdentityModel(repo.versionPath('multi', '3'), 'FP32');
  writeAddModel(repo.versionPath('batched', '1'));
  repo.modelYaml('batched', 'max_queue_delay_ms: 300\nmax_batch_size: 64\n');
  server = await startServer(['--models', repo.dir, '--grpc-port', '0'], { env: { FORJA_SERVER__BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
  assert.ok(server.grpcAddress, `the ready line names the gRPC address: ${server.output()}`);
  client = inferenceClient(server.grpcAddress);
});

after(async () => {
  client?.close();
  const code = await server?.stop();
  repo?.remove();
  assert.equal(code, 0, 'SIGTERM exits 0');
});

describe('health and metadata', () => {
  test('ServerLive, ServerReady and ServerMetadata', async () => {
    assert.deepEqual(await client.ServerLive({}), { live: true });
    assert.deepEqual(await client.ServerReady({}), { ready: true });
    const meta = await client.ServerMetadata({});
    assert.equal(meta.name, 'forja');
    assert.match(meta.version, /^\d+\.\d+\.\d+/);
    for (const ext of ['binary_tensor_data', 'model_repository', 'model_configuration', 'statistics']) assert.ok(meta.extensions.includes(ext), ext);
  });

  test('ModelMetadata comes from the model file; versions have their own', async () => {
    const meta = await client.ModelMetadata({ name: 'add' });
    assert.equal(meta.platform, 'onnxruntime_onnx');
    assert.deepEqual(meta.versions, ['1']);
    assert.deepEqual(meta.inputs.map((t: any) => [t.name, t.datatype, t.shape]), [['A', 'FP32', ['-1', '4']], ['B', 'FP32', ['-1', '4']]]);
    assert.equal((await client.ModelMetadata({ name: 'multi' })).inputs[0].name, 'INPUT0');
    assert.equal((await client.ModelMetadata({ name: 'multi', version: '1' })).inputs[0].name, 'A');
    const missing = await rejection(client.ModelMetadata({ name: 'multi', version: '2' }));
    assert.equal(missing.code, Status.NOT_FOUND);
  });

  test('ModelReady: true when loaded, false when not, NOT_FOUND when unknown', async () => {
    assert.deepEqual(await client.ModelReady({ name: 'add' }), { ready: true });
    assert.deepEqual(await client.ModelReady({ name: 'add', version: '1' }), { ready: true });
    assert.deepEqual(await client.ModelReady({ name: 'broken' }), { ready: false });
    const unknown = await rejection(client.ModelReady({ name: 'nope' }));
    assert.equal(unknown.code, Status.NOT_FOUND);
    assert.match(unknown.details, /model 'nope' is not in the repository/);
  });

  test('grpc.health.v1: SERVING for the server and the inference service, NOT_FOUND for others', async () => {
    const health = healthClient(server.grpcAddress!);
    try {
      assert.deepEqual(await health.Check({ service: '' }), { status: 'SERVING' });
      assert.deepEqual(await health.Check({ service: 'inference.GRPCInferenceService' }), { status: 'SERVING' });
      assert.equal((await rejection(health.Check({ service: 'other.Service' }))).code, Status.NOT_FOUND);
    } finally {
      health.close();
    }
  });
});

describe('ModelInfer', () => {
  test('typed contents in and out, echoing the id, model and version', async () => {
    const res = await client.ModelInfer({ model_name: 'add', id: 'req-1', inputs: addInputs([[1, 2, 3, 4], [10, 20, 30, 40]], [[1, 1, 1, 1], [2, 2, 2, 2]]) });
    assert.equal(res.model_name, 'add');
    assert.equal(res.model_version, '1');
    assert.equal(res.id, 'req-1');
    assert.deepEqual(res.raw_output_contents, []);
    const sum = res.outputs.find((o: any) => o.name === 'SUM');
    assert.deepEqual(sum.shape, ['2', '4']);
    assert.deepEqual(sum.contents.fp32_contents, [2, 3, 4, 5, 12, 22, 32, 42]);
    assert.deepEqual(res.outputs.find((o: any) => o.name === 'DIFF').contents.fp32_contents, [0, 1, 2, 3, 8, 18, 28, 38]);
  });

  test('returns only the requested outputs', async () => {
    const res = await client.ModelInfer({ model_name: 'add', inputs: addInputs([[1, 2, 3, 4]]), outputs: [{ name: 'DIFF' }] });
    assert.deepEqual(res.outputs.map((o: any) => o.name), ['DIFF']);
  });

  test('request parameters are accepted', async () => {
    const res = await client.ModelInfer({ model_name: 'add', inputs: addInputs([[1, 2, 3, 4]]), parameters: { priority: { int64_param: '1' }, note: { string_param: 'x' } } });
    assert.equal(res.outputs.length, 2);
  });

  test('every datatype with typed contents (FP16 has none)', async () => {
    for (const dt of SUPPORTED_IDENTITY_DATATYPES.filter((d) => d !== 'FP16')) {
      const values = typedValues(dt);
      const res = await client.ModelInfer({ model_name: `id_${dt.toLowerCase()}`, inputs: [{ name: 'INPUT0', datatype: dt, shape: [1, 3], contents: { [CONTENTS[dt]]: values } }] });
      assert.equal(res.outputs[0].datatype, dt);
      assert.deepEqual(res.outputs[0].contents[CONTENTS[dt]], values, dt);
    }
  });

  test('every datatype as raw_input_contents, answered in raw_output_contents', async () => {
    for (const dt of SUPPORTED_IDENTITY_DATATYPES) {
      const bytes = rawValues(dt);
      const res = await client.ModelInfer({ model_name: `id_${dt.toLowerCase()}`, inputs: [{ name: 'INPUT0', datatype: dt, shape: [1, 3] }], raw_input_contents: [bytes] });
      assert.equal(res.outputs[0].datatype, dt);
      assert.equal(res.outputs[0].contents, null, `${dt}: no typed contents beside raw`);
      assert.deepEqual(Buffer.from(res.raw_output_contents[0]), bytes, dt);
    }
  });

  test('gRPC and REST requests for one model share batches', async () => {
    const before = (await client.ModelStatistics({ name: 'batched' })).model_stats[0];
    const grpcCalls = Array.from({ length: 4 }, (_, i) => client.ModelInfer({ model_name: 'batched', inputs: addInputs([[i, 0, 0, 0]], [[0, i, 0, 0]]) }));
    const restCalls = Array.from({ length: 4 }, (_, i) => fetch(`${server.url}/v2/models/batched/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [
      { name: 'A', shape: [1, 4], datatype: 'FP32', data: [10 + i, 0, 0, 0] },
      { name: 'B', shape: [1, 4], datatype: 'FP32', data: [0, 10 + i, 0, 0] },
    ] }) }).then((r) => r.json() as Promise<any>));
    const [grpcReplies, restReplies] = await Promise.all([Promise.all(grpcCalls), Promise.all(restCalls)]);
    grpcReplies.forEach((r, i) => assert.deepEqual(r.outputs.find((o: any) => o.name === 'SUM').contents.fp32_contents, [i, i, 0, 0]));
    restReplies.forEach((r, i) => assert.deepEqual(r.outputs.find((o: any) => o.name === 'SUM').data, [10 + i, 10 + i, 0, 0]));
    const afterStats = (await client.ModelStatistics({ name: 'batched' })).model_stats[0];
    const executions = Number(afterStats.execution_count) - Number(before.execution_count);
    assert.equal(Number(afterStats.inference_count) - Number(before.inference_count), 8);
    assert.ok(executions < 8, `8 requests ran in ${executions} executions`);
    const mixed = afterStats.batch_stats.some((b: any) => Number(b.batch_size) > 4);
    assert.ok(mixed, `a batch held requests of both protocols: ${JSON.stringify(afterStats.batch_stats)}`);
  });

  test('metrics label gRPC requests protocol="grpc"', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /forja_inference_requests_total\{protocol="grpc",model="add",version="1",status="200"\} \d+/);
    assert.match(text, /forja_inference_request_duration_seconds_count\{protocol="grpc",model="add",version="1"\} \d+/);
  });
});

describe('ModelStreamInfer', () => {
  test('answers each message in order on one stream; an error answers that message and the stream goes on', async () => {
    const stream = (client.raw as any).ModelStreamInfer() as ClientDuplexStream<object, any>;
    const replies: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (r) => replies.push(r));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    for (let i = 0; i < 6; i++) {
      const request = i === 3
        ? { model_name: 'add', id: `s${i}`, inputs: addInputs([[1, 2, 3, 4]]).map((t) => ({ ...t, datatype: 'INT32', contents: { int_contents: [1, 2, 3, 4] } })) }
        : { model_name: 'add', id: `s${i}`, inputs: addInputs([[i, 0, 0, 0]]) };
      stream.write(request);
    }
    stream.end();
    await done;
    assert.equal(replies.length, 6);
    replies.forEach((r, i) => {
      if (i === 3) {
        assert.match(r.error_message, /INT32.*expects FP32/);
        return;
      }
      assert.equal(r.error_message, '');
      assert.equal(r.infer_response.id, `s${i}`);
      assert.deepEqual(r.infer_response.outputs.find((o: any) => o.name === 'SUM').contents.fp32_contents, [2 * i, 0, 0, 0]);
    });
  });
});

describe('repository, configuration and statistics', () => {
  test('RepositoryIndex lists every version with its state; ready filters', async () => {
    const { models } = await client.RepositoryIndex({});
    assert.deepEqual(models.find((m: any) => m.name === 'add'), { name: 'add', version: '1', state: 'READY', reason: '' });
    const broken = models.find((m: any) => m.name === 'broken');
    assert.equal(broken.state, 'UNAVAILABLE');
    assert.ok(broken.reason.length > 0);
    assert.ok((await client.RepositoryIndex({ ready: true })).models.every((m: any) => m.state === 'READY'));
  });

  test('unload makes ModelInfer UNAVAILABLE with the REST message; load brings it back', async () => {
    const x = Array.from({ length: 64 }, (_, i) => i / 64);
    const request = { model_name: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 64], contents: { fp32_contents: x } }] };
    await client.RepositoryModelUnload({ model_name: 'mlp' });
    assert.deepEqual(await client.ModelReady({ name: 'mlp' }), { ready: false });
    const refused = await rejection(client.ModelInfer(request));
    assert.equal(refused.code, Status.UNAVAILABLE);
    assert.match(refused.details, /unloaded.*load/);
    await client.RepositoryModelLoad({ model_name: 'mlp' });
    assert.deepEqual((await client.ModelInfer(request)).outputs[0].shape, ['1', '10']);
    const broken = await rejection(client.RepositoryModelLoad({ model_name: 'broken' }));
    assert.equal(broken.code, Status.UNAVAILABLE);
    assert.equal((await rejection(client.RepositoryModelLoad({ model_name: 'nope' }))).code, Status.NOT_FOUND);
  });

  test('ModelConfig reports the effective configuration in Triton\'s shape', async () => {
    const { config } = await client.ModelConfig({ name: 'batched' });
    assert.equal(config.name, 'batched');
    assert.equal(config.platform, 'onnxruntime_onnx');
    assert.equal(config.max_batch_size, 64);
    assert.deepEqual(config.input.map((t: any) => [t.name, t.data_type, t.dims]), [['A', 'TYPE_FP32', ['4']], ['B', 'TYPE_FP32', ['4']]]);
    assert.equal(config.dynamic_batching.max_queue_delay_microseconds, '300000');
    assert.equal(config.instance_group[0].kind, 'KIND_CPU');
    assert.equal(config.instance_group[0].count, 1);
    assert.equal(config.parameters.threads.string_value, '1');
  });

  test('ModelStatistics counts this model\'s requests; every model when no name is given', async () => {
    const before = (await client.ModelStatistics({ name: 'add', version: '1' })).model_stats[0];
    await client.ModelInfer({ model_name: 'add', inputs: addInputs([[1, 2, 3, 4], [1, 2, 3, 4]]) });
    await rejection(client.ModelInfer({ model_name: 'add', inputs: addInputs([[1, 2, 3, 4]]).slice(0, 1) }));
    const stats = (await client.ModelStatistics({ name: 'add', version: '1' })).model_stats[0];
    assert.equal(Number(stats.inference_count) - Number(before.inference_count), 2);
    assert.equal(Number(stats.inference_stats.success.count) - Number(before.inference_stats.success.count), 1);
    assert.equal(Number(stats.inference_stats.fail.count) - Number(before.inference_stats.fail.count), 1);
    assert.ok(Number(stats.inference_stats.compute_infer.ns) > Number(before.inference_stats.compute_infer.ns));
    assert.ok(Number(stats.last_inference) > 0);
    const all = (await client.ModelStatistics({})).model_stats.map((s: any) => s.name);
    assert.ok(all.includes('add') && all.includes('mlp'));
  });
});

describe('bad input: the REST message, a gRPC status and FORJA_ERR_* in the trailers', () => {
  const one = () => addInputs([[1, 2, 3, 4]]);
  const cases: Array<[string, () => Promise<unknown>, Status, RegExp, string?]> = [
    ['not protobuf at all', () => rawBytesCall(server.grpcAddress!, 'ModelInfer', Buffer.from([0x0a, 0x03, 0x61, 0x64, 0x64, 0x0f])), Status.INVALID_ARGUMENT, /not a valid protobuf message/, 'FORJA_ERR_REQUEST_INVALID'],
    ['message over the limit', () => client.ModelInfer({ model_name: 'add', inputs: one(), raw_input_contents: [Buffer.alloc(BODY_LIMIT + 10)] }), Status.RESOURCE_EXHAUSTED, /larger than max/],
    ['no model name', () => client.ModelInfer({ inputs: one() }), Status.INVALID_ARGUMENT, /model_name/, 'FORJA_ERR_REQUEST_INVALID'],
    ['no inputs', () => client.ModelInfer({ model_name: 'add', inputs: [] }), Status.INVALID_ARGUMENT, /inputs/, 'FORJA_ERR_REQUEST_INVALID'],
    ['unknown model', () => client.ModelInfer({ model_name: 'nope', inputs: one() }), Status.NOT_FOUND, /nope/, 'FORJA_ERR_MODEL_NOT_FOUND'],
    ['unknown version', () => client.ModelInfer({ model_name: 'add', model_version: '9', inputs: one() }), Status.NOT_FOUND, /version '9'/, 'FORJA_ERR_MODEL_VERSION_NOT_FOUND'],
    ['missing input', () => client.ModelInfer({ model_name: 'add', inputs: one().slice(0, 1) }), Status.INVALID_ARGUMENT, /missing input 'B'/, 'FORJA_ERR_TENSOR_INVALID'],
    ['unknown input', () => client.ModelInfer({ model_name: 'add', inputs: [...one(), { name: 'C', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }] }), Status.INVALID_ARGUMENT, /unknown input 'C'/, 'FORJA_ERR_TENSOR_INVALID'],
    ['duplicated input', () => client.ModelInfer({ model_name: 'add', inputs: [one()[0], one()[0]] }), Status.INVALID_ARGUMENT, /'A' is given more than once/, 'FORJA_ERR_TENSOR_INVALID'],
    ['wrong datatype', () => client.ModelInfer({ model_name: 'add', inputs: one().map((t) => ({ ...t, datatype: 'INT32', contents: { int_contents: [1, 2, 3, 4] } })) }), Status.INVALID_ARGUMENT, /INT32.*expects FP32/, 'FORJA_ERR_TENSOR_DATATYPE'],
    ['unknown datatype', () => client.ModelInfer({ model_name: 'add', inputs: one().map((t) => ({ ...t, datatype: 'FP128' })) }), Status.INVALID_ARGUMENT, /datatype/, 'FORJA_ERR_REQUEST_INVALID'],
    ['data length vs shape', () => client.ModelInfer({ model_name: 'add', inputs: one().map((t) => ({ ...t, shape: [2, 4] })) }), Status.INVALID_ARGUMENT, /needs 8 elements, got 4/, 'FORJA_ERR_TENSOR_SHAPE'],
    ['values in the wrong contents field', () => client.ModelInfer({ model_name: 'add', inputs: one().map((t) => ({ ...t, contents: { int_contents: [1, 2, 3, 4] } })) }), Status.INVALID_ARGUMENT, /fp32_contents, got contents.int_contents/, 'FORJA_ERR_TENSOR_DATATYPE'],
    ['no data', () => client.ModelInfer({ model_name: 'add', inputs: one().map((t) => ({ ...t, contents: undefined })) }), Status.INVALID_ARGUMENT, /has no data/, 'FORJA_ERR_REQUEST_INVALID'],
    ['wrong rank', () => client.ModelInfer({ model_name: 'add', inputs: one().map((t) => ({ ...t, shape: [4] })) }), Status.INVALID_ARGUMENT, /expects \[-1,4\]/, 'FORJA_ERR_TENSOR_SHAPE'],
    ['unknown output', () => client.ModelInfer({ model_name: 'add', inputs: one(), outputs: [{ name: 'PRODUCT' }] }), Status.INVALID_ARGUMENT, /unknown output 'PRODUCT'/, 'FORJA_ERR_TENSOR_INVALID'],
    ['INT8 value out of range', () => client.ModelInfer({ model_name: 'id_int8', inputs: [{ name: 'INPUT0', datatype: 'INT8', shape: [1, 3], contents: { int_contents: [1, 300, 2] } }] }), Status.INVALID_ARGUMENT, /element 1 is 300, expected an integer in -128..127/, 'FORJA_ERR_TENSOR_DATATYPE'],
    ['FP16 as typed contents', () => client.ModelInfer({ model_name: 'id_fp16', inputs: [{ name: 'INPUT0', datatype: 'FP16', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] }), Status.INVALID_ARGUMENT, /FP16 has no typed contents field; send its data in raw_input_contents/, 'FORJA_ERR_REQUEST_INVALID'],
    ['raw size vs shape', () => client.ModelInfer({ model_name: 'add', inputs: one().map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })), raw_input_contents: [Buffer.alloc(16), Buffer.alloc(12)] }), Status.INVALID_ARGUMENT, /needs 16 bytes of binary data, got 12/, 'FORJA_ERR_TENSOR_SHAPE'],
    ['raw entries vs inputs', () => client.ModelInfer({ model_name: 'add', inputs: one().map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })), raw_input_contents: [Buffer.alloc(16)] }), Status.INVALID_ARGUMENT, /raw_input_contents has 1 entries for 2 inputs/, 'FORJA_ERR_REQUEST_INVALID'],
    ['raw and typed together', () => client.ModelInfer({ model_name: 'add', inputs: one(), raw_input_contents: [Buffer.alloc(16), Buffer.alloc(16)] }), Status.INVALID_ARGUMENT, /use one or the other/, 'FORJA_ERR_REQUEST_INVALID'],
    ['truncated raw BYTES element', () => client.ModelInfer({ model_name: 'id_bytes', inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 1] }], raw_input_contents: [Buffer.from([9, 0, 0, 0, 65])] }), Status.INVALID_ARGUMENT, /runs past the data/, 'FORJA_ERR_TENSOR_INVALID'],
    ['negative dimension', () => client.ModelInfer({ model_name: 'add', inputs: one().map((t) => ({ ...t, shape: [-1, 4] })) }), Status.INVALID_ARGUMENT, /shape.0/, 'FORJA_ERR_REQUEST_INVALID'],
    ['traversal in model name', () => client.ModelInfer({ model_name: '../../etc/passwd', inputs: one() }), Status.INVALID_ARGUMENT, /invalid model name/, 'FORJA_ERR_MODEL_NAME_INVALID'],
    ['absolute path as model name', () => client.ModelMetadata({ name: '/etc/passwd' }), Status.INVALID_ARGUMENT, /invalid model name/, 'FORJA_ERR_MODEL_NAME_INVALID'],
    ['traversal in version', () => client.ModelMetadata({ name: 'add', version: '../../add' }), Status.INVALID_ARGUMENT, /invalid version name/, 'FORJA_ERR_MODEL_NAME_INVALID'],
    ['a method the service does not have', () => rawBytesCall(server.grpcAddress!, 'NoSuchMethod', Buffer.alloc(0)), Status.UNIMPLEMENTED, /.+/],
  ];
  for (const [name, call, code, message, forjaCode] of cases) {
    test(name, async () => {
      const err = await rejection(call());
      assert.equal(err.code, code, `${Status[err.code]}: ${err.details}`);
      assert.match(err.details, message);
      if (forjaCode) assert.deepEqual(err.metadata.get('forja-error-code'), [forjaCode]);
    });
  }

  test('the server is still healthy after all of that', async () => {
    assert.deepEqual(await client.ServerReady({}), { ready: true });
    assert.equal((await client.ModelInfer({ model_name: 'add', inputs: one() })).outputs.length, 2);
  });
});
