/** Rate limits per key and per IP (429 with Retry-After in each protocol's shape) and the CORS allowlist. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startSecureServer, type SecureServer } from './harness.js';

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
