/**
 * Deeply nested JSON is a client mistake on every route: 400 FORJA_ERR_REQUEST_TOO_DEEP, never a
 * 500 from a stack overflow. The route list is read from the real server, so a new POST route is
 * covered without editing this file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import { buildServer, type ForjaServer } from '../../src/server/app.js';
import { findTooDeep, MAX_JSON_DEPTH } from '../../src/http/json-body.js';
import { signWebhookBody } from '../../src/pipelines/webhook-signature.js';
import { writeAddModel } from '../helpers/onnx-models.js';

const SECRET_ENV = `FORJA_TEST_DEPTH_SECRET_${process.pid}`;
const SECRET = 'depth-test-secret';

const nested = (depth: number, inner = '') => '['.repeat(depth) + inner + ']'.repeat(depth);

/** Every route with its methods, read from Fastify's route tree (full paths, one per line). */
function registeredRoutes(server: ForjaServer): { path: string; methods: string[] }[] {
  const routes: { path: string; methods: string[] }[] = [];
  const stack: string[] = [];
  for (const line of server.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (.*?) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    const level = match[1].length / 4;
    stack.length = level;
    stack.push(match[2]);
    routes.push({ path: stack.join(''), methods: match[3].split(', ') });
  }
  return routes;
}

describe('JSON nesting depth on every route', () => {
  let dir: string;
  let server: ForjaServer;
  let base: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'forja-depth-'));
    const models = path.join(dir, 'models');
    const pipelines = path.join(dir, 'pipelines');
    mkdirSync(path.join(models, 'add', '1'), { recursive: true });
    mkdirSync(pipelines);
    writeAddModel(path.join(models, 'add', '1', 'model.onnx'));
    writeFileSync(path.join(pipelines, 'echo.mjs'), "export default { name: 'echo', webhook: { allowUnsigned: true }, run: (input) => input };\n");
    writeFileSync(path.join(pipelines, 'signed.mjs'), `export default { name: 'signed', webhook: { secretEnv: '${SECRET_ENV}' }, run: (input) => input };\n`);
    process.env[SECRET_ENV] = SECRET;
    const config = validateConfig({
      server: { host: '127.0.0.1', port: 0 },
      models: { dir: models },
      pipelines: { dir: pipelines },
      data: { dir: path.join(dir, 'data') },
      log: { level: 'silent' },
    });
    server = await buildServer(config);
    base = await server.start();
  });
  after(async () => {
    await server.close();
    delete process.env[SECRET_ENV];
    rmSync(dir, { recursive: true, force: true });
  });

  const send = async (route: string, body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const text = await res.text();
    return { status: res.status, text };
  };

  const assertTooDeep = (reply: { status: number; text: string }, what: string) => {
    assert.equal(reply.status, 400, `${what}: ${reply.status} ${reply.text.slice(0, 200)}`);
    // v2 and jobs answer {"error": "..."}; the OpenAI routes {"error": {"message": ...}}.
    const body = JSON.parse(reply.text) as { error: string | { message: string }; code?: string };
    const message = typeof body.error === 'string' ? body.error : body.error.message;
    assert.match(message, new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`), what);
    if (body.code !== undefined) assert.equal(body.code, 'FORJA_ERR_REQUEST_TOO_DEEP', what);
  };

  it('answers 4xx, never 5xx, to deep bodies on every POST route, and stays healthy', async () => {
    const posts = registeredRoutes(server).filter((r) => r.methods.includes('POST')).map((r) => r.path);
    // The routes this test must reach; more may exist.
    for (const known of ['/v2/models/:model/infer', '/v2/repository/index', '/api/jobs', '/hooks/:pipeline', '/v1/chat/completions']) assert.ok(posts.includes(known), known);
    const concrete = (route: string) => route.replace(':model', 'add').replace(':version', '1').replace(':pipeline', 'echo').replace(':id', 'no-such-job');
    for (const route of posts) {
      // Small enough for the smallest route limit (the 4 KiB login form), yet deeper than the bound.
      assertTooDeep(await send(concrete(route), nested(1_500)), route);
      // Deep enough to overflow any recursive walk; a route with a smaller body limit may say 413 first.
      const big = await send(concrete(route), nested(100_000));
      if (big.status !== 413) assertTooDeep(big, route);
    }
    const live = await fetch(`${base}/v2/health/live`);
    assert.equal(live.status, 200);
  });

  const cases: { name: string; route: string; body: () => string; headers?: (body: string) => Record<string, string> }[] = [
    {
      name: 'v2 tensor data nested 10,000 deep',
      route: '/v2/models/add/infer',
      body: () => `{"inputs":[{"name":"A","shape":[1,4],"datatype":"FP32","data":${nested(10_000, '1,2,3,4')}},{"name":"B","shape":[1,4],"datatype":"FP32","data":[1,1,1,1]}]}`,
    },
    {
      name: 'v2 binary request whose JSON header nests 10,000 deep',
      route: '/v2/models/add/versions/1/infer',
      body: () => `{"inputs":${nested(10_000)}}`,
      headers: (body) => ({ 'content-type': 'application/octet-stream', 'inference-header-content-length': String(Buffer.byteLength(body)) }),
    },
    { name: 'job input nested 100,000 deep', route: '/api/jobs', body: () => `{"pipeline":"echo","input":{"x":${nested(100_000)}}}` },
    {
      name: 'signed webhook nested 50,000 deep',
      route: '/hooks/signed',
      body: () => `{"payload":${nested(50_000)}}`,
      headers: (body) => ({ 'x-hub-signature-256': signWebhookBody(SECRET, Buffer.from(body)), 'x-github-delivery': 'deep-1' }),
    },
    { name: 'repository index nested 30,000 deep (its body limit is 64 KiB)', route: '/v2/repository/index', body: () => `{"ready":${nested(30_000)}}` },
  ];
  for (const c of cases) {
    it(`${c.name} → 400 FORJA_ERR_REQUEST_TOO_DEEP`, async () => {
      const body = c.body();
      assertTooDeep(await send(c.route, body, c.headers?.(body)), c.name);
    });
  }

  it('still accepts bodies nested within the bound', async () => {
    const res = await send('/api/jobs', `{"pipeline":"echo","input":{"x":${nested(MAX_JSON_DEPTH - 2)}}}`);
    assert.equal(res.status, 202, res.text);
    const infer = await send('/v2/models/add/infer', '{"inputs":[{"name":"A","shape":[1,4],"datatype":"FP32","data":[[1,2,3,4]]},{"name":"B","shape":[1,4],"datatype":"FP32","data":[1,1,1,1]}]}');
    assert.equal(infer.status, 200, infer.text);
  });
});

describe('findTooDeep', () => {
  const bytes = (s: string) => Buffer.from(s);
  it('counts arrays and objects, not brackets inside strings', () => {
    assert.equal(findTooDeep(bytes(nested(3)), 3), -1);
    assert.equal(findTooDeep(bytes(nested(4)), 3), 3);
    assert.equal(findTooDeep(bytes('{"a":{"b":{"c":{}}}}'), 3), 15);
    assert.equal(findTooDeep(bytes(`["${'['.repeat(50)}"]`), 2), -1);
    assert.equal(findTooDeep(bytes(`["\\"[[[", [[1]]]`), 2), 11);
  });
});
