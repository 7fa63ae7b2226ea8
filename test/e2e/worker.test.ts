/**
 * `forja worker` as real processes: an API-only `forja serve` (pipelines.run_jobs: false) and a
 * worker child on the same Redis key prefix, configured by --config and flags; a job whose step calls
 * ctx.infer runs on the worker against its own model repository. Misconfigured workers exit 1 with
 * the reason instead of idling.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, startServer, type ServerProcess } from '../helpers/server-process.js';
import { writeAddModel } from '../helpers/onnx-models.js';
import { deleteRedisPrefix, redisSkipReason, REDIS_URL } from '../pipelines/redis-available.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-worker-'));
const models = path.join(dir, 'models');
const pipelines = path.join(dir, 'pipelines');
const prefix = `forja-test-worker-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

const ADD = `
export default {
  name: 'add-on-worker',
  async run(input, ctx) {
    const sum = await ctx.step('add', () => ctx.infer('add', { inputs: [
      { name: 'A', shape: [1, 4], datatype: 'FP32', data: input.a },
      { name: 'B', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
    ] }));
    return { sum: sum.outputs[0].data, pid: process.pid };
  },
};
`;

before(() => {
  mkdirSync(path.join(models, 'add', '1'), { recursive: true });
  writeAddModel(path.join(models, 'add', '1', 'model.onnx'));
  mkdirSync(pipelines);
  writeFileSync(path.join(pipelines, 'add-on-worker.mjs'), ADD);
  mkdirSync(path.join(dir, 'empty'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Exited { code: number | null; stdout: string; stderr: string }

function worker(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; ready: Promise<string>; exited: Promise<Exited> } {
  const child = spawn(process.execPath, [CLI, 'worker', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORJA_LOG__LEVEL: 'warn', ...env } });
  let stdout = '';
  let stderr = '';
  let onReady: (line: string) => void;
  const ready = new Promise<string>((resolve) => { onReady = resolve; });
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
    const line = /^forja worker running .*$/m.exec(stdout);
    if (line) onReady(line[0]);
  });
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exited = new Promise<Exited>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { child, ready, exited };
}

describe('a misconfigured worker exits 1 with the reason', () => {
  test('no pipeline loads', async () => {
    const r = await worker(['--pipelines', path.join(dir, 'empty'), '--redis', REDIS_URL]).exited;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no pipeline loaded from .*empty/);
  });

  test('the pipelines directory does not exist', async () => {
    const r = await worker(['--pipelines', path.join(dir, 'nowhere')]).exited;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no pipelines directory at .*nowhere: pass --pipelines DIR or set pipelines.dir/);
  });

  test('SQLite with no job store to share says how to use Redis', async () => {
    const r = await worker(['--pipelines', pipelines, '--data', path.join(dir, 'fresh-data')]).exited;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no job store at .*jobs\.sqlite.*pipelines\.backend: redis/);
  });

  test('a bad config file names the key', async () => {
    writeFileSync(path.join(dir, 'bad.yaml'), 'pipelines:\n  backend: postgres\n');
    const r = await worker(['--config', path.join(dir, 'bad.yaml'), '--pipelines', pipelines]).exited;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /pipelines\.backend/);
  });

  test('a bad FORJA_* variable names the key', async () => {
    const r = await worker(['--pipelines', pipelines], { FORJA_LOG__LEVEL: 'loud' }).exited;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /log\.level/);
  });
});

describe('a worker beside an API-only server on Redis', async () => {
  const skip = await redisSkipReason();
  let server: ServerProcess;

  before(async () => {
    if (skip) return;
    server = await startServer(['--models', models, '--pipelines', pipelines, '--data', path.join(dir, 'api-data')], {
      env: { FORJA_PIPELINES__BACKEND: 'redis', FORJA_PIPELINES__REDIS_URL: REDIS_URL, FORJA_PIPELINES__REDIS_PREFIX: prefix, FORJA_PIPELINES__RUN_JOBS: 'false' },
    });
  });
  after(async () => {
    if (skip) return;
    assert.equal(await server?.stop(), 0);
    await deleteRedisPrefix(prefix);
  });

  test('the job submitted to the server runs on the worker, and ctx.infer reaches its models', { skip }, async () => {
    // The worker's settings come from its own config file; flags name the directories.
    writeFileSync(path.join(dir, 'worker.yaml'), `pipelines:\n  backend: redis\n  redis_url: ${REDIS_URL}\n  redis_prefix: ${prefix}\nlog:\n  level: warn\n`);
    const w = worker(['--config', path.join(dir, 'worker.yaml'), '--models', models, '--pipelines', pipelines]);
    try {
      const line = await Promise.race([w.ready, w.exited.then((r) => { throw new Error(`worker exited ${r.code}: ${r.stderr}`); })]);
      assert.match(line, new RegExp(`forja worker running add-on-worker on redis .*prefix ${prefix}.* with 1 models`));

      const res = await fetch(`${server.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pipeline: 'add-on-worker', input: { a: [1, 2, 3, 4] } }) });
      assert.equal(res.status, 202, await res.clone().text());
      const { id } = await res.json() as { id: string };
      await (await fetch(`${server.url}/api/jobs/${id}/events`)).text();
      const job = await (await fetch(`${server.url}/api/jobs/${id}`)).json() as any;
      assert.equal(job.state, 'succeeded', JSON.stringify(job.error));
      assert.deepEqual(job.result.sum, [2, 3, 4, 5]);
      assert.equal(job.result.pid, w.child.pid, 'the worker ran the job, not the API-only server');
    } finally {
      w.child.kill('SIGTERM');
      const r = await w.exited;
      assert.equal(r.code, 0, r.stderr);
    }
  });
});
