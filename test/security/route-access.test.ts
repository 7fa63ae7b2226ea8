/**
 * Routes carry their own access level (config.access): every route of a full server (models,
 * OpenAI, jobs, webhooks, dashboard, docs) declares one, the levels are the documented ones, and
 * a route registered without one stops the server from starting (deny by default).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { registerSecurity } from '../../src/security/index.js';
import { validateConfig } from '../../src/config/load.js';
import { startSecureServer, call, type SecureServer } from './harness.js';

const ADMIN = 'route-access-admin-secret-0001';

describe('route access levels', () => {
  let s: SecureServer;
  before(async () => { s = await startSecureServer({}, `ops:${ADMIN}:admin`); });
  after(() => s?.close());

  test('every registered route declares a known access level', () => {
    const routes = s.server.security.routes;
    assert.ok(routes.length > 30, `only ${routes.length} routes seen`);
    const levels = new Set(['public', 'infer', 'jobs', 'admin', 'webhook', 'login']);
    for (const route of routes) {
      assert.ok(levels.has(route.config?.access as string), `${String(route.method)} ${route.url} has access ${String(route.config?.access)}`);
    }
  });

  test('the access levels of the main routes are the documented ones', () => {
    const accessOf = (method: string, url: string) => s.server.security.routes.find((r) => [r.method].flat().includes(method) && r.url === url)?.config?.access;
    const expected: Array<[string, string, string]> = [
      ['GET', '/v2/health/live', 'public'], ['GET', '/v2/health/ready', 'public'], ['HEAD', '/v2/health/ready', 'public'],
      ['GET', '/openapi.json', 'public'], ['GET', '/docs/', 'public'], ['GET', '/docs/static/*', 'public'], ['GET', '/dashboard/login.css', 'public'],
      ['GET', '/v2', 'infer'], ['POST', '/v2/models/:model/infer', 'infer'], ['POST', '/v1/chat/completions', 'infer'], ['GET', '/v1/models', 'infer'],
      ['POST', '/api/chat', 'infer'], ['GET', '/api/tags', 'infer'], ['GET', '/api/version', 'infer'], ['POST', '/api/pull', 'infer'],
      ['POST', '/api/jobs', 'jobs'], ['POST', '/api/jobs/:id/cancel', 'jobs'], ['GET', '/api/pipelines', 'jobs'],
      ['POST', '/hooks/:pipeline', 'webhook'], ['POST', '/dashboard/login', 'login'],
      ['POST', '/v2/repository/models/:model/load', 'admin'], ['GET', '/metrics', 'admin'], ['GET', '/', 'admin'], ['GET', '/dashboard/events', 'admin'],
    ];
    for (const [method, url, access] of expected) assert.equal(accessOf(method, url), access, `${method} ${url}`);
  });

  test('the session cookie counts only on the dashboard, its two job buttons and the two reads of its job view', () => {
    const cookieRoutes = s.server.security.routes.filter((r) => r.config?.sessionCookie).map((r) => `${String(r.method)} ${r.url}`).sort();
    assert.deepEqual(cookieRoutes, [
      'GET /', 'GET /api/jobs/:id', 'GET /api/jobs/:id/logs', 'GET /dashboard/:asset', 'GET /dashboard/events', 'GET /dashboard/snapshot',
      'HEAD /', 'HEAD /api/jobs/:id', 'HEAD /api/jobs/:id/logs', 'HEAD /dashboard/:asset', 'HEAD /dashboard/events', 'HEAD /dashboard/snapshot',
      'POST /api/jobs/:id/cancel', 'POST /api/jobs/:id/retry',
    ]);
  });

  test('the OpenAPI document lists exactly the routes that carry docs', async () => {
    const doc = (await call(`${s.url}/openapi.json`, 'GET')).json;
    const documented = s.server.security.routes.filter((r) => r.config?.docs && r.method !== 'HEAD')
      .map((r) => `${String(r.method).toLowerCase()} ${r.url.replace(/:(\w+)/g, '{$1}')}`).sort();
    const described = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)).sort();
    assert.deepEqual(described, documented);
    assert.ok(described.includes('post /v2/models/{model}/infer') && described.includes('get /api/pipelines'));
    assert.ok(doc.paths['/api/jobs'].post.requestBody.content['application/json'].schema.properties.pipeline, 'the jobs submit body is documented');
    assert.deepEqual(doc.paths['/api/jobs/{id}'].get.parameters.map((p: any) => p.name), ['id']);
  });

  test('an unknown URL needs an admin key while keys are on', async () => {
    assert.equal((await call(`${s.url}/no/such/route`, 'GET')).status, 401);
    assert.equal((await call(`${s.url}/no/such/route`, 'GET', { authorization: `Bearer ${ADMIN}` })).status, 404);
  });
});

describe('deny by default', () => {
  test('a route without config.access stops the server from starting, naming the route', async () => {
    const app = Fastify();
    const security = validateConfig({ log: { level: 'silent' } }).security;
    await registerSecurity(app, { security, host: '127.0.0.1', env: {} });
    app.get('/declared', { config: { access: 'public' } }, async () => 'ok');
    app.get('/forgotten', async () => 'open?');
    await assert.rejects(async () => { await app.ready(); }, /config\.access.*GET \/forgotten/);
  });
});
