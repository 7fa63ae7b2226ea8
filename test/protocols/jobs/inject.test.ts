/**
 * The jobs plugin inside the whole server, driven with app.inject() (no socket): the server's own
 * config, auth hook, route metadata and error bodies, over a real SQLite-backed pipeline service.
 * The process-level tests (test/e2e, test/cli/jobs.test.ts) cover the same routes through a child.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';
import { buildServer, type ForjaServer } from '../../../src/server/app.js';

const JOBS = 'jobs-key-0123456789abcdef';
const INFER = 'infer-key-0123456789abcdef';
const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-jobs-inject-'));
const keysEnv = `FORJA_TEST_INJECT_KEYS_${process.pid}`;
let server: ForjaServer;

before(async () => {
  mkdirSync(path.join(dir, 'models'));
  mkdirSync(path.join(dir, 'pipelines'));
  writeFileSync(path.join(dir, 'pipelines', 'square.mjs'), `
import { z } from 'zod';
export default { input: z.object({ n: z.number() }), run: (input, ctx) => ctx.step('square', () => input.n * input.n) };
`);
  writeFileSync(path.join(dir, 'pipelines', 'open-hook.mjs'), "export default { webhook: { allowUnsigned: true }, run: (input) => input };\n");
  writeFileSync(path.join(dir, 'pipelines', 'later.mjs'), 'export default { run: () => null };\n');
  process.env[keysEnv] = `bot:${JOBS}:jobs, app:${INFER}:infer`;
  server = await buildServer(validateConfig({
    models: { dir: path.join(dir, 'models') },
    pipelines: { dir: path.join(dir, 'pipelines') },
    data: { dir: path.join(dir, 'data') },
    log: { level: 'silent' },
    security: { api_keys_env: keysEnv },
  }));
  // Without listening: the model manager and the pipeline service start as server.start() would.
  await server.manager.start();
  await server.pipelines!.start();
  await server.app.ready();
});
after(async () => {
  await server?.close();
  delete process.env[keysEnv];
  rmSync(dir, { recursive: true, force: true });
});

const inject = (method: 'GET' | 'POST', url: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) => server.app.inject({
  method, url, payload: options.body === undefined ? undefined : JSON.stringify(options.body),
  headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...(options.key ? { authorization: `Bearer ${options.key}` } : {}), ...options.headers },
});

async function finished(id: string): Promise<any> {
  await inject('GET', `/api/jobs/${id}/events`, { key: JOBS }); // answered when the job is done
  return (await inject('GET', `/api/jobs/${id}`, { key: JOBS })).json();
}

describe('jobs routes through app.inject', () => {
  it('need a key with the jobs scope on every jobs route', async () => {
    for (const [method, url] of [['GET', '/api/jobs'], ['POST', '/api/jobs'], ['GET', '/api/pipelines'], ['GET', '/api/jobs/x'], ['POST', '/api/jobs/x/cancel'], ['POST', '/api/jobs/x/retry']] as const) {
      const anonymous = await inject(method, url);
      assert.equal(anonymous.statusCode, 401, `${method} ${url}`);
      assert.equal(anonymous.json().code, 'FORJA_ERR_AUTH_UNAUTHORIZED');
      const wrongScope = await inject(method, url, { key: INFER });
      assert.equal(wrongScope.statusCode, 403, `${method} ${url}`);
      assert.equal(wrongScope.json().code, 'FORJA_ERR_AUTH_FORBIDDEN');
    }
  });

  it('accept a job with 202, run it, and show it with its steps', async () => {
    const res = await inject('POST', '/api/jobs', { key: JOBS, body: { pipeline: 'square', input: { n: 7 } } });
    assert.equal(res.statusCode, 202, res.body);
    const { id, status_url: statusUrl } = res.json();
    assert.equal(res.headers.location, statusUrl);
    const job = await finished(id);
    assert.equal(job.state, 'succeeded');
    assert.equal(job.result, 49);
    assert.deepEqual(job.steps.map((s: { name: string; state: string }) => [s.name, s.state]), [['square', 'succeeded']]);
  });

  it('answer client mistakes with the right status and code', async () => {
    const cases: [string, 'GET' | 'POST', string, unknown, number, string][] = [
      ['unknown pipeline', 'POST', '/api/jobs', { pipeline: 'nope' }, 404, 'FORJA_ERR_PIPELINE_NOT_FOUND'],
      ['input against the schema', 'POST', '/api/jobs', { pipeline: 'square', input: { n: 'seven' } }, 400, 'FORJA_ERR_PIPELINE_INPUT_INVALID'],
      ['body without pipeline', 'POST', '/api/jobs', { input: {} }, 400, 'FORJA_ERR_REQUEST_INVALID'],
      ['unknown job', 'GET', '/api/jobs/00000000-0000-0000-0000-000000000000', undefined, 404, 'FORJA_ERR_JOB_NOT_FOUND'],
      ['bad list filter', 'GET', '/api/jobs?state=bogus', undefined, 400, 'FORJA_ERR_REQUEST_INVALID'],
    ];
    for (const [what, method, url, body, status, code] of cases) {
      const res = await inject(method, url, { key: JOBS, body });
      assert.equal(res.statusCode, status, `${what}: ${res.body}`);
      assert.equal(res.json().code, code, what);
      assert.equal(typeof res.json().error, 'string', what);
    }
  });

  it('cancel a delayed job, then refuse to cancel it again with 409', async () => {
    const { id } = (await inject('POST', '/api/jobs', { key: JOBS, body: { pipeline: 'later', delayMs: 3_600_000 } })).json();
    const cancelled = await inject('POST', `/api/jobs/${id}/cancel`, { key: JOBS });
    assert.equal(cancelled.statusCode, 200);
    assert.equal(cancelled.json().state, 'cancelled');
    const again = await inject('POST', `/api/jobs/${id}/cancel`, { key: JOBS });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'FORJA_ERR_JOB_STATE_CONFLICT');
    const retried = await inject('POST', `/api/jobs/${id}/retry`, { key: JOBS });
    assert.equal(retried.statusCode, 202);
  });

  it('list the loaded pipelines and their load failures', async () => {
    const res = await inject('GET', '/api/pipelines', { key: JOBS });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().pipelines.map((p: { name: string }) => p.name).sort(), ['later', 'open-hook', 'square']);
    assert.deepEqual(res.json().failures, []);
  });

  it('take webhooks without an API key: the signature (or the opt-in to unsigned) is their check', async () => {
    const res = await inject('POST', '/hooks/open-hook', { body: { a: 1 }, headers: { 'x-github-delivery': 'inject-1' } });
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual((await finished(res.json().id)).result, { a: 1 });
    const unsignedRefused = await inject('POST', '/hooks/square', { body: { n: 1 } });
    assert.equal(unsignedRefused.statusCode, 401);
    assert.equal(unsignedRefused.json().code, 'FORJA_ERR_WEBHOOK_SIGNATURE');
  });
});
