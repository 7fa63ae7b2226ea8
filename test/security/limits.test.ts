/**
 * Rate limits per key and per IP (429 with Retry-After in each protocol's shape, RESOURCE_EXHAUSTED
 * over gRPC from the same budget) and the CORS allowlist.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { call, startSecureServer, type SecureServer } from './harness.js';
import { healthClient, inferenceClient, rejection, type GrpcClient } from '../helpers/grpc-client.js';

const A = 'limit-a-0123456789abcdef';
const B = 'limit-b-0123456789abcdef';

describe('rate limit', () => {
  let s: SecureServer;
  before(async () => {
    s = await startSecureServer({ rate_limit: { requests_per_minute: 3 } }, `a:${A}:infer,b:${B}:infer`);
  });
  after(async () => {
    await s?.close();
  });

  test('a key over its budget gets 429 with Retry-After; another key keeps its own budget', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await call(`${s.url}/v2/models/add`, 'GET', { 'x-api-key': A })).status, 200);
    const limited = await call(`${s.url}/v2/models/add`, 'GET', { 'x-api-key': A });
    assert.equal(limited.status, 429);
    assert.deepEqual(limited.json.code, 'FORJA_ERR_RATE_LIMITED');
    assert.deepEqual(Object.keys(limited.json), ['error', 'code']);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `retry-after: ${retryAfter}`);
    const openai = await call(`${s.url}/v1/models`, 'GET', { 'x-api-key': A });
    assert.equal(openai.status, 429);
    assert.equal(openai.json.error.type, 'rate_limit_error');
    assert.equal(openai.json.code, 'FORJA_ERR_RATE_LIMITED');
    assert.equal((await call(`${s.url}/v2/models/add`, 'GET', { 'x-api-key': B })).status, 200);
  });

  test('requests without a valid key count against the client IP, so guessing keys is throttled', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(`${s.url}/v2/models/add`, 'GET', { 'x-api-key': `guess-${i}-0123456789abcdef` })).status);
    assert.deepEqual(statuses, [401, 401, 401, 429]);
  });

  test('health probes are never limited', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await call(`${s.url}/v2/health/live`, 'GET')).status, 200);
  });
});

describe('rate limit over gRPC', () => {
  let s: SecureServer;
  let grpc: GrpcClient;
  const request = { model_name: 'add', inputs: ['A', 'B'].map((name) => ({ name, datatype: 'FP32', shape: ['1', '4'], contents: { fp32_contents: [1, 2, 3, 4] } })) };
  const LIMITED = /^rate limit of 3 requests per minute exceeded; retry in \d+ seconds?$/;
  before(async () => {
    s = await startSecureServer({ rate_limit: { requests_per_minute: 3 } }, `a:${A}:infer,b:${B}:infer`, { server: { host: '127.0.0.1', port: 0, grpc_port: 0 } });
    grpc = inferenceClient(s.server.grpcUrl!.replace('grpc://', ''));
  });
  after(async () => {
    grpc?.close();
    await s?.close();
  });

  test('a key over its budget gets RESOURCE_EXHAUSTED with the REST message, forja-error-code and retry-after', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await grpc.ModelInfer(request, { 'x-api-key': A })).outputs.length, 2);
    const err = await rejection(grpc.ModelInfer(request, { authorization: `Bearer ${A}` }));
    assert.equal(err.code, Status.RESOURCE_EXHAUSTED);
    assert.match(err.details, LIMITED);
    assert.deepEqual(err.metadata.get('forja-error-code'), ['FORJA_ERR_RATE_LIMITED']);
    const retryAfter = Number(err.metadata.get('retry-after')[0]);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `retry-after: ${retryAfter}`);
    const rest = await call(`${s.url}/v2/models/add`, 'GET', { 'x-api-key': A });
    assert.equal(rest.status, 429, 'the key has one budget for both protocols');
    assert.match(rest.json.error, LIMITED);

    // A stream counts when it opens; over the limit it ends with the same status before reading.
    const metadata = new Metadata();
    metadata.set('x-api-key', A);
    const stream = (grpc.raw as any).ModelStreamInfer(metadata);
    const ended = await new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    assert.equal(ended.code, Status.RESOURCE_EXHAUSTED);
    assert.deepEqual(ended.metadata.get('forja-error-code'), ['FORJA_ERR_RATE_LIMITED']);
  });

  test('REST and gRPC calls of one key share its budget', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await call(`${s.url}/v2/models/add`, 'GET', { 'x-api-key': B })).status, 200);
    assert.equal((await grpc.ModelMetadata({ name: 'add' }, { 'x-api-key': B })).name, 'add');
    assert.equal((await rejection(grpc.ModelMetadata({ name: 'add' }, { 'x-api-key': B }))).code, Status.RESOURCE_EXHAUSTED);
    assert.equal((await call(`${s.url}/v2/models/add`, 'GET', { 'x-api-key': B })).status, 429);
  });

  test('calls without a valid key count against the client address, shared with HTTP; probes are never limited', async () => {
    const codes: Status[] = [];
    for (let i = 0; i < 4; i++) codes.push((await rejection(grpc.ModelInfer(request, { 'x-api-key': `guess-${i}-0123456789abcdef` }))).code);
    assert.deepEqual(codes, [Status.UNAUTHENTICATED, Status.UNAUTHENTICATED, Status.UNAUTHENTICATED, Status.RESOURCE_EXHAUSTED]);
    assert.equal((await call(`${s.url}/v2/models/add`, 'GET')).status, 429, 'the address is over its budget over HTTP too');
    for (let i = 0; i < 6; i++) assert.equal((await grpc.ServerLive({})).live, true);
    const health = healthClient(s.server.grpcUrl!.replace('grpc://', ''));
    assert.equal((await health.Check({ service: '' })).status, 'SERVING');
    health.close();
  });
});

describe('CORS allowlist', () => {
  let s: SecureServer;
  before(async () => {
    s = await startSecureServer({ cors_origins: ['https://app.example'] }, `a:${A}:infer`);
  });
  after(async () => {
    await s?.close();
  });

  test('a preflight from an allowed origin is answered without a key', async () => {
    const reply = await call(`${s.url}/v2/models/add/infer`, 'OPTIONS', {
      origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type',
    });
    assert.ok(reply.status === 204 || reply.status === 200, String(reply.status));
    assert.equal(reply.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(reply.headers.get('access-control-allow-headers') ?? '', /authorization/);
  });

  test('another origin gets no CORS grant, and an actual request still needs the key', async () => {
    const preflight = await call(`${s.url}/v2/models/add/infer`, 'OPTIONS', { origin: 'https://evil.example', 'access-control-request-method': 'POST' });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    const noKey = await call(`${s.url}/v2/models/add`, 'GET', { origin: 'https://app.example' });
    assert.equal(noKey.status, 401);
    const ok = await call(`${s.url}/v2/models/add`, 'GET', { origin: 'https://app.example', authorization: `Bearer ${A}` });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example');
  });
});
