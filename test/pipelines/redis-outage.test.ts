/**
 * The Redis backend goes away under a real server (its own redis-server, stopped with SIGSTOP, then
 * killed and restarted): the jobs API answers 503 with Retry-After at once instead of hanging, the
 * jobs readiness probe says so while model serving stays ready, and a submission that was answered
 * with an error never becomes a job, even when its command reaches Redis after the answer.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, it } from 'node:test';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempDir, waitFor } from './helpers.js';
import { freePort, hasRedisServer, killRedis, startRedis } from './private-redis.js';

const PIPELINES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'echo-pipelines');
// Far beyond the configured 1 s: a request still unanswered by then is hanging.
const CLIENT_PATIENCE_MS = 20_000;

let redis: ChildProcess | undefined;
let server: ServerProcess | undefined;
after(async () => {
  await server?.stop('SIGKILL');
  await killRedis(redis);
});

it('a Redis outage answers 503 fast, reports jobs not ready, and creates no job for a refused submission', { skip: hasRedisServer ? undefined : 'redis-server is not installed' }, async () => {
  const port = await freePort();
  const redisDir = tempDir();
  redis = await startRedis(port, redisDir);
  server = await startServer(['--models', tempDir(), '--pipelines', PIPELINES, '--data', tempDir()], {
    env: { FORJA_PIPELINES__BACKEND: 'redis', FORJA_PIPELINES__REDIS_URL: `redis://127.0.0.1:${port}`, FORJA_PIPELINES__BACKEND_TIMEOUT_MS: '1000' },
  });
  const url = server.url;
  const call = (method: string, route: string, body?: unknown) => fetch(`${url}${route}`, {
    method, signal: AbortSignal.timeout(CLIENT_PATIENCE_MS),
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const submit = (marker: string) => call('POST', '/api/jobs', { pipeline: 'echo', input: { marker } });
  const finished = async (id: string) => {
    await waitFor(async () => ((await (await call('GET', `/api/jobs/${encodeURIComponent(id)}`)).json()) as { state: string }).state === 'succeeded', 15_000, 50);
  };
  const expectUnavailable = async (response: Response, what: string) => {
    assert.equal(response.status, 503, `${what}: ${response.status} ${await response.clone().text()}`);
    assert.ok(Number(response.headers.get('retry-after')) > 0, `${what} carries Retry-After`);
    assert.match(((await response.json()) as { error: string }).error, /redis|queue/i);
  };

  const before = await submit('before');
  assert.equal(before.status, 202);
  await finished(((await before.json()) as { id: string }).id);
  assert.equal((await call('GET', '/api/jobs/ready')).status, 200);

  // Frozen: the connection stays open, commands are written and wait unanswered.
  redis.kill('SIGSTOP');
  const [frozenA, frozenB, frozenList, frozenReady] = await Promise.all([
    submit('refused-while-stopped-a'), submit('refused-while-stopped-b'), call('GET', '/api/jobs'), call('GET', '/api/jobs/ready'),
  ]);
  await expectUnavailable(frozenA, 'POST /api/jobs while Redis is stopped');
  await expectUnavailable(frozenB, 'POST /api/jobs while Redis is stopped');
  await expectUnavailable(frozenList, 'GET /api/jobs while Redis is stopped');
  assert.equal(frozenReady.status, 503, 'the jobs readiness probe reports the outage');
  assert.equal((await call('GET', '/v2/health/ready')).status, 200, 'model serving stays ready');
  assert.equal((await call('GET', '/v2/health/live')).status, 200);
  // The submissions' commands are still queued on the open connection: they reach Redis now, late.
  redis.kill('SIGCONT');
  await waitFor(async () => (await call('GET', '/api/jobs/ready')).status === 200, 15_000, 50);

  // Gone: connections are refused until it is back.
  await killRedis(redis);
  await expectUnavailable(await submit('refused-while-down'), 'POST /api/jobs while Redis is down');
  await expectUnavailable(await call('GET', '/api/jobs'), 'GET /api/jobs while Redis is down');
  assert.equal((await call('GET', '/api/jobs/ready')).status, 503);
  assert.equal((await call('GET', '/v2/health/ready')).status, 200);
  redis = await startRedis(port, redisDir);
  await waitFor(async () => (await call('GET', '/api/jobs/ready')).status === 200, 15_000, 50);

  const afterOutage = await submit('after');
  assert.equal(afterOutage.status, 202);
  await finished(((await afterOutage.json()) as { id: string }).id);
  const listed = (await (await call('GET', '/api/jobs?limit=100')).json()) as { jobs: { input: { marker: string } }[] };
  assert.deepEqual(listed.jobs.map((j) => j.input.marker).sort(), ['after', 'before'], 'no refused submission became a job');
});
