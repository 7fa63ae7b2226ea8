/**
 * `forja jobs …` and `forja bench load` through the real CLI against a real `forja serve` with API
 * keys on: the key from --api-key or FORJA_API_KEY, the URL from FORJA_URL, clear messages when the
 * key is missing or the server is not there, and human output with --json for scripts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CLI, startServer, type ServerProcess } from '../helpers/server-process.js';
import { writeAddModel } from '../helpers/onnx-models.js';

const JOBS_KEY = 'jobs-secret-0123456789abcdef';
const INFER_KEY = 'infer-secret-0123456789abcdef';
const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-cli-jobs-'));
let server: ServerProcess;

before(async () => {
  mkdirSync(path.join(dir, 'models/add/1'), { recursive: true });
  writeAddModel(path.join(dir, 'models/add/1/model.onnx'));
  mkdirSync(path.join(dir, 'pipelines'));
  writeFileSync(path.join(dir, 'pipelines', 'double.mjs'), `
export default { async run(input, ctx) {
  if (input.fail) throw new Error('asked to fail');
  return ctx.step('double', () => input.n * 2);
} };
`);
  // Logs a line, then one from inside a step, waits while input.flag exists, and logs its end.
  writeFileSync(path.join(dir, 'pipelines', 'talks.mjs'), `import { existsSync } from 'node:fs';
export default { async run(input, ctx) {
  ctx.log('starting', { flag: input.flag ?? null });
  await ctx.step('wait', async ({ log, signal }) => {
    log('waiting');
    while (input.flag && existsSync(input.flag)) { signal.throwIfAborted(); await new Promise((r) => setTimeout(r, 20)); }
  });
  ctx.log('done');
  return 'ok';
} };
`);
  server = await startServer(['--models', path.join(dir, 'models'), '--pipelines', path.join(dir, 'pipelines'), '--data', path.join(dir, 'data')], {
    env: { FORJA_API_KEYS: `bot:${JOBS_KEY}:jobs, app:${INFER_KEY}:infer` },
  });
});
after(async () => {
  assert.equal(await server?.stop(), 0);
  rmSync(dir, { recursive: true, force: true });
});

function forja(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORJA_URL: undefined, FORJA_API_KEY: undefined, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function untilFinished(id: string): Promise<any> {
  const res = await fetch(`${server.url}/api/jobs/${id}/events`, { headers: { authorization: `Bearer ${JOBS_KEY}` } });
  await res.text();
  return (await fetch(`${server.url}/api/jobs/${id}`, { headers: { authorization: `Bearer ${JOBS_KEY}` } })).json();
}

/** A port nothing listens on: bound, then closed. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

describe('forja jobs with API keys on', () => {
  test('without a key: exit 1 saying the server wants one', async () => {
    const r = await forja(['jobs', 'list', '--url', server.url]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /401 .*pass --api-key or set FORJA_API_KEY/);
  });

  test('a key without the jobs scope is refused with a hint', async () => {
    const r = await forja(['jobs', 'list', '--url', server.url, '--api-key', INFER_KEY]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /403 .*lacks the scope/);
  });

  test('submit, show and list with --api-key and with FORJA_URL + FORJA_API_KEY', async () => {
    const submitted = await forja(['jobs', 'submit', 'double', '--input', '{"n": 21}', '--url', server.url, '--api-key', JOBS_KEY]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.split(/\s+/)[0];
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal((await untilFinished(id)).state, 'succeeded');

    const env = { FORJA_URL: server.url, FORJA_API_KEY: JOBS_KEY };
    const shown = await forja(['jobs', 'show', id], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^job +${id}$`, 'm'));
    assert.match(shown.stdout, /^state +succeeded \(attempts 1\)$/m);
    assert.match(shown.stdout, /^result +42$/m);
    assert.match(shown.stdout, /^STEP +STATE +ATTEMPTS +DURATION/m);
    assert.match(shown.stdout, /^double +succeeded +1 /m);

    const json = await forja(['jobs', 'show', id, '--json'], env);
    const job = JSON.parse(json.stdout);
    assert.equal(job.id, id);
    assert.equal(job.result, 42);

    const listed = await forja(['jobs', 'list'], env);
    assert.equal(listed.code, 0, listed.stderr);
    const [header, ...rows] = listed.stdout.trim().split('\n');
    assert.match(header, /^ID +PIPELINE +STATE +ATTEMPTS +CREATED +ERROR$/);
    assert.ok(rows.some((row) => row.startsWith(id) && /double +succeeded +1 /.test(row)), listed.stdout);
    assert.equal(JSON.parse((await forja(['jobs', 'list', '--json'], env)).stdout).jobs[0].id, id);
  });

  test('a failed job shows its error and retries with the key', async () => {
    const env = { FORJA_URL: server.url, FORJA_API_KEY: JOBS_KEY };
    const submitted = await forja(['jobs', 'submit', 'double', '--input', '{"fail": true}'], env);
    const id = submitted.stdout.split(/\s+/)[0];
    await untilFinished(id);
    const shown = await forja(['jobs', 'show', id], env);
    assert.match(shown.stdout, /^error +asked to fail$/m);
    const retried = await forja(['jobs', 'retry', id], env);
    assert.equal(retried.code, 0, retried.stderr);
    assert.equal(retried.stdout.trim(), `${id} queued`);
  });

  test('jobs logs prints a job\'s stored lines, as text or one JSON object per line', async () => {
    const env = { FORJA_URL: server.url, FORJA_API_KEY: JOBS_KEY };
    const id = (await forja(['jobs', 'submit', 'talks'], env)).stdout.trim().split(' ')[0];
    await untilFinished(id);
    const text = await forja(['jobs', 'logs', id], env);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^\d{4}-\d\d-\d\dT[\d:.]+Z\s{2}starting\s{2}\{"flag":null\}$/);
    assert.match(lines[1], / {2}waiting$/);
    assert.match(lines[2], / {2}done$/);
    const json = (await forja(['jobs', 'logs', id, '--json'], env)).stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(json.map((l) => l.message), ['starting', 'waiting', 'done']);
    const rest = await forja(['jobs', 'logs', id, '--after', String(json[0].seq)], env);
    assert.equal(rest.stdout.trim().split('\n').length, 2);
    const missing = await forja(['jobs', 'logs', 'no-such-job'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /404 job no-such-job not found/);
  });

  test('jobs logs -f follows a running job\'s lines and exits when it ends', async () => {
    const env = { FORJA_URL: server.url, FORJA_API_KEY: JOBS_KEY };
    const flag = path.join(dir, 'hold');
    writeFileSync(flag, '');
    const id = (await forja(['jobs', 'submit', 'talks', '--input', JSON.stringify({ flag })], env)).stdout.trim().split(' ')[0];
    const child = spawn(process.execPath, [CLI, 'jobs', 'logs', '-f', id], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    await new Promise<void>((resolve) => child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes('waiting')) resolve();
    }));
    assert.doesNotMatch(stdout, /done/, 'the job is still running');
    unlinkSync(flag);
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(stdout.trim().split('\n').map((l) => l.split('  ')[1]), ['starting', 'waiting', 'done']);
    assert.match(stderr, new RegExp(`job ${id} succeeded`));
  });

  test('no server at the URL: "is the server running at URL?" instead of "fetch failed"', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await forja(['jobs', 'list'], { FORJA_URL: url });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`is the server running at ${url}\\?`));
    assert.doesNotMatch(r.stderr, /fetch failed/);
  });

  test('--help names FORJA_URL and FORJA_API_KEY', async () => {
    const r = await forja(['jobs', 'list', '--help']);
    assert.match(r.stdout, /FORJA_URL/);
    assert.match(r.stdout, /FORJA_API_KEY/);
  });
});

describe('forja bench load with API keys on', () => {
  // Generous SLOs: this checks the key, not the speed of a shared machine.
  test('the key reaches both the metadata and the infer requests', async () => {
    const r = await forja(['bench', 'load', '--model', 'add', '--max-requests', '5', '--concurrency', '1', '--duration', '30', '--slo-error-rate', '0', '--slo-p95-ms', '60000', '--slo-p99-ms', '60000'], { FORJA_URL: server.url, FORJA_API_KEY: INFER_KEY });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const report = JSON.parse(r.stdout);
    assert.equal(report.requests, 5);
    assert.equal(report.ok, 5);
  });

  test('without a key it says so', async () => {
    const r = await forja(['bench', 'load', '--url', server.url, '--model', 'add', '--max-requests', '1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /401 .*pass --api-key or set FORJA_API_KEY/);
  });
});
