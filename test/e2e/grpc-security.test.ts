/**
 * API keys over gRPC against a real `forja serve` with keys configured: the same credentials
 * (`authorization: Bearer …` or `x-api-key` metadata), the same scopes and messages as HTTP, public
 * probes; and SIGTERM draining a gRPC call that is still running.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel } from '../helpers/onnx-models.js';
import { healthClient, inferenceClient, rejection, type GrpcClient } from '../helpers/grpc-client.js';

const INFER_KEY = 'infer-secret-0123456789';
const ADMIN_KEY = 'admin-secret-0123456789';
let repo: TempRepo;
let server: ServerProcess;
let client: GrpcClient;

const request = { model_name: 'add', inputs: ['A', 'B'].map((name) => ({ name, datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } })) };

before(async () => {
  repo = tempRepo();
  writeAddModel(repo.versionPath('add', '1'));
  // A long queue delay keeps a request in flight while the server is told to stop.
  writeAddModel(repo.versionPath('slow', '1'));
  repo.modelYaml('slow', 'max_queue_delay_ms: 1500\nmax_batch_size: 8\n');
  server = await startServer(['--models', repo.dir, '--grpc-port', '0'], { env: { FORJA_API_KEYS: `app:${INFER_KEY}:infer,ops:${ADMIN_KEY}:admin` } });
  client = inferenceClient(server.grpcAddress!);
});

after(async () => {
  client?.close();
  await server?.stop();
  repo?.remove();
});

describe('API keys over gRPC', () => {
  test('no key: UNAUTHENTICATED with the HTTP message', async () => {
    const err = await rejection(client.ModelInfer(request));
    assert.equal(err.code, Status.UNAUTHENTICATED);
    assert.match(err.details, /missing API key/);
    assert.deepEqual(err.metadata.get('forja-error-code'), ['FORJA_ERR_AUTH_UNAUTHORIZED']);
  });

  test('a wrong key or a malformed Authorization is UNAUTHENTICATED', async () => {
    assert.equal((await rejection(client.ModelInfer(request, { 'x-api-key': 'not-a-key-of-this-server' }))).code, Status.UNAUTHENTICATED);
    const basic = await rejection(client.ModelInfer(request, { authorization: 'Basic abc' }));
    assert.equal(basic.code, Status.UNAUTHENTICATED);
    assert.match(basic.details, /Bearer/);
  });

  test('an infer key works as Bearer and as x-api-key', async () => {
    assert.equal((await client.ModelInfer(request, { authorization: `Bearer ${INFER_KEY}` })).outputs.length, 2);
    assert.equal((await client.ModelInfer(request, { 'x-api-key': INFER_KEY })).outputs.length, 2);
  });

  test('the repository needs admin: PERMISSION_DENIED for an infer key, allowed for admin', async () => {
    const err = await rejection(client.RepositoryIndex({}, { authorization: `Bearer ${INFER_KEY}` }));
    assert.equal(err.code, Status.PERMISSION_DENIED);
    assert.match(err.details, /does not have the 'admin' scope/);
    assert.ok((await client.RepositoryIndex({}, { authorization: `Bearer ${ADMIN_KEY}` })).models.length > 0);
  });

  test('a stream without a key ends with UNAUTHENTICATED', async () => {
    const stream = (client.raw as any).ModelStreamInfer();
    const err = await new Promise<ServiceError>((resolve) => {
      stream.on('error', resolve);
      stream.on('data', () => undefined);
      stream.write(request);
    });
    assert.equal(err.code, Status.UNAUTHENTICATED);
  });

  test('probes need no key: ServerLive, ServerReady and grpc.health.v1', async () => {
    assert.deepEqual(await client.ServerLive({}), { live: true });
    assert.deepEqual(await client.ServerReady({}), { ready: true });
    const health = healthClient(server.grpcAddress!);
    try {
      assert.deepEqual(await health.Check({ service: '' }), { status: 'SERVING' });
    } finally {
      health.close();
    }
  });
});

describe('shutdown', () => {
  test('SIGTERM lets a running gRPC call finish, then exits 0', async () => {
    const running = client.ModelInfer({ ...request, model_name: 'slow' }, { 'x-api-key': INFER_KEY });
    // The request is queued once the batcher reports it waiting.
    for (;;) {
      const metrics = await (await fetch(`${server.url}/metrics`, { headers: { 'x-api-key': ADMIN_KEY } })).text();
      if (/forja_inference_queue_depth\{model="slow",version="1"\} 1/.test(metrics)) break;
      await new Promise((r) => setImmediate(r));
    }
    const exit = server.stop('SIGTERM');
    const reply = await running;
    assert.deepEqual(reply.outputs.find((o: any) => o.name === 'SUM').contents.fp32_contents, [2, 4, 6, 8]);
    assert.equal(await exit, 0);
  });
});
