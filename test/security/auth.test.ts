/**
 * API keys and scopes on a real server: each protocol answers a request with no key, a wrong
 * key and a key without the route's scope in its own error shape, and lets the right key through.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADD_REQUEST, call, startSecureServer, type SecureServer } from './harness.js';

const INFER = 'infer-secret-0123456789abcdef';
const JOBS = 'jobs-secret-0123456789abcdef';
const ADMIN = 'admin-secret-0123456789abcdef';
const BOTH = 'both-secret-0123456789abcdef';
const KEYS = `client:${INFER}:infer, pipeline-bot:${JOBS}:jobs\nops:${ADMIN}:admin,both:${BOTH}:infer+jobs`;

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

function assertV2Error(reply: { status: number; json: any }, status: number) {
  assert.equal(reply.status, status, JSON.stringify(reply.json));
  assert.deepEqual(Object.keys(reply.json), ['error', 'code']);
  assert.equal(typeof reply.json.error, 'string');
  assert.match(reply.json.code, /^FORJA_ERR_[A-Z_]+$/);
}

function assertOpenAIError(reply: { status: number; json: any }, status: number, type: string) {
  assert.equal(reply.status, status, JSON.stringify(reply.json));
  assert.deepEqual(Object.keys(reply.json.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(reply.json.error.type, type);
  assert.match(reply.json.code, /^FORJA_ERR_(AUTH_UNAUTHORIZED|AUTH_FORBIDDEN)$/);
}

describe('API keys and scopes', () => {
  let s: SecureServer;
  before(async () => {
    s = await startSecureServer({}, KEYS);
  });
  after(async () => {
    await s?.close();
  });

  test('health endpoints answer without a key', async () => {
    assert.equal((await call(`${s.url}/v2/health/live`, 'GET')).status, 200);
    assert.equal((await call(`${s.url}/v2/health/ready`, 'GET')).status, 200);
  });

  test('v2 infer: no key and a wrong key are 401 with a challenge, a key without infer is 403', async () => {
    const url = `${s.url}/v2/models/add/infer`;
    const none = await call(url, 'POST', {}, ADD_REQUEST);
    assertV2Error(none, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assertV2Error(await call(url, 'POST', bearer('not-a-real-key-0123456789'), ADD_REQUEST), 401);
    assertV2Error(await call(url, 'POST', { 'x-api-key': INFER.slice(0, -1) }, ADD_REQUEST), 401);
    assertV2Error(await call(url, 'POST', { authorization: `Basic ${Buffer.from(`x:${INFER}`).toString('base64')}` }, ADD_REQUEST), 401);
    const forbidden = await call(url, 'POST', bearer(JOBS), ADD_REQUEST);
    assertV2Error(forbidden, 403);
    assert.match(forbidden.json.error, /infer/);
  });

  test('v2 infer: the infer key works through Authorization and through x-api-key', async () => {
    const viaBearer = await call(`${s.url}/v2/models/add/infer`, 'POST', bearer(INFER), ADD_REQUEST);
    assert.equal(viaBearer.status, 200, JSON.stringify(viaBearer.json));
    assert.deepEqual(viaBearer.json.outputs.find((o: any) => o.name === 'SUM').data, [2, 3, 4, 5]);
    assert.equal((await call(`${s.url}/v2/models/add/infer`, 'POST', { 'x-api-key': INFER }, ADD_REQUEST)).status, 200);
    assert.equal((await call(`${s.url}/v2/models/add`, 'GET', { 'x-api-key': BOTH })).status, 200);
    assert.equal((await call(`${s.url}/v2/models/add`, 'GET', bearer(ADMIN))).status, 200, 'admin includes infer');
  });

  test('OpenAI routes answer auth failures in OpenAI\'s error shape', async () => {
    assertOpenAIError(await call(`${s.url}/v1/models`, 'GET'), 401, 'authentication_error');
    assertOpenAIError(await call(`${s.url}/v1/models`, 'GET', bearer('wrong-wrong-wrong-wrong')), 401, 'authentication_error');
    assertOpenAIError(await call(`${s.url}/v1/chat/completions`, 'POST', bearer(JOBS), { model: 'x', messages: [] }), 403, 'permission_error');
    const ok = await call(`${s.url}/v1/models`, 'GET', bearer(INFER));
    assert.equal(ok.status, 200);
    assert.equal(ok.json.object, 'list');
  });

  test('jobs API: no key 401, infer key 403, jobs key 202', async () => {
    const body = { pipeline: 'echo', input: { n: 1 } };
    assertV2Error(await call(`${s.url}/api/jobs`, 'POST', {}, body), 401);
    assertV2Error(await call(`${s.url}/api/jobs`, 'POST', bearer('nope-nope-nope-nope-nope'), body), 401);
    assertV2Error(await call(`${s.url}/api/jobs`, 'POST', bearer(INFER), body), 403);
    const accepted = await call(`${s.url}/api/jobs`, 'POST', bearer(JOBS), body);
    assert.equal(accepted.status, 202, JSON.stringify(accepted.json));
    assertV2Error(await call(`${s.url}${accepted.json.status_url}`, 'GET'), 401);
    assert.equal((await call(`${s.url}${accepted.json.status_url}`, 'GET', { 'x-api-key': BOTH })).status, 200);
    assert.equal((await call(`${s.url}/api/pipelines`, 'GET', bearer(JOBS))).status, 200);
  });

  test('webhooks are not behind API keys (they are signed per pipeline)', async () => {
    const reply = await call(`${s.url}/hooks/echo`, 'POST', {}, { n: 2 });
    assert.equal(reply.status, 202, JSON.stringify(reply.json));
  });

  test('the repository extension and /metrics need admin', async () => {
    assertV2Error(await call(`${s.url}/v2/repository/index`, 'POST'), 401);
    assertV2Error(await call(`${s.url}/v2/repository/index`, 'POST', bearer(INFER)), 403);
    assertV2Error(await call(`${s.url}/v2/repository/models/add/unload`, 'POST', bearer(BOTH)), 403);
    assert.equal((await call(`${s.url}/v2/repository/index`, 'POST', bearer(ADMIN))).status, 200);
    assertV2Error(await call(`${s.url}/metrics`, 'GET'), 401);
    assertV2Error(await call(`${s.url}/metrics`, 'GET', bearer(INFER)), 403);
    const metrics = await call(`${s.url}/metrics`, 'GET', bearer(ADMIN));
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.json), /forja_/);
  });

  test('an unknown URL needs admin before it can learn it is a 404', async () => {
    assertV2Error(await call(`${s.url}/no/such/route`, 'GET'), 401);
    assertV2Error(await call(`${s.url}/no/such/route`, 'GET', bearer(INFER)), 403);
    assertV2Error(await call(`${s.url}/no/such/route`, 'GET', bearer(ADMIN)), 404);
  });

  test('pages a browser renders carry security headers; the JSON API skips them', async () => {
    const page = await call(`${s.url}/docs/`, 'GET');
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(page.headers.get('x-frame-options'));
    assert.ok(page.headers.get('content-security-policy'));
    const api = await call(`${s.url}/v2/health/live`, 'GET');
    assert.equal(api.headers.get('content-security-policy'), null);
    assert.equal(api.headers.get('access-control-allow-origin'), null, 'no CORS without an allowlist');
  });
});

describe('without API keys', () => {
  let s: SecureServer;
  before(async () => {
    s = await startSecureServer({});
  });
  after(async () => {
    await s?.close();
  });

  test('a loopback server with no keys configured serves every route without credentials', async () => {
    assert.equal((await call(`${s.url}/v2/models/add/infer`, 'POST', {}, ADD_REQUEST)).status, 200);
    assert.equal((await call(`${s.url}/v1/models`, 'GET')).status, 200);
    assert.equal((await call(`${s.url}/metrics`, 'GET')).status, 200);
  });
});
