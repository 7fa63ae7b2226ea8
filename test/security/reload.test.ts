/**
 * Security settings reload live in a real `forja serve --config FILE` child: a new key file plus
 * SIGHUP refuses the old key (and its dashboard session) and accepts the new one; an added CORS
 * origin applies on a config file change; a lower rate limit applies; an invalid key file is
 * refused and the running keys stay. Nothing restarts; everything is awaited through the log lines
 * the reloads write, never fixed sleeps.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { writeAddModel } from '../helpers/onnx-models.js';

const OLD = 'old-admin-secret-0123456789abcdef';
const NEW = 'new-admin-secret-0123456789abcdef';
const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-security-reload-'));
const configFile = path.join(dir, 'forja.yaml');
const keyFile = path.join(dir, 'keys.txt');
const modelsDir = path.join(dir, 'models');
let server: ServerProcess;
let url = '';
const output = () => server.output();

function writeConfig(corsOrigins: string[], requestsPerMinute: number): void {
  writeFileSync(configFile, [
    'server:', '  port: 0', 'models:', `  dir: ${JSON.stringify(modelsDir)}`, 'log:', '  level: info',
    'security:', `  api_keys_file: ${JSON.stringify(keyFile)}`, `  cors_origins: ${JSON.stringify(corsOrigins)}`,
    '  rate_limit:', `    requests_per_minute: ${requestsPerMinute}`, '',
  ].join('\n'));
}

const logLines = (from: number) => output().slice(from).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

/** Resolves with the first log line after `from` that matches, as the child writes it. */
function logLine(what: string, from: number, match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const line = logLines(from).find(match);
      if (!line) return false;
      server.child.stdout!.off('data', check);
      server.child.off('exit', onExit);
      resolve(line);
      return true;
    };
    const onExit = () => reject(new Error(`forja exited while waiting for ${what}:\n${output()}`));
    if (check()) return;
    // Registered after startServer's collector, so the output already holds the new chunk.
    server.child.stdout!.on('data', check);
    server.child.once('exit', onExit);
  });
}

const status = async (secret: string) => (await fetch(`${url}/v2/models/add`, { headers: { authorization: `Bearer ${secret}` } })).status;

before(async () => {
  mkdirSync(path.join(modelsDir, 'add/1'), { recursive: true });
  writeAddModel(path.join(modelsDir, 'add/1/model.onnx'));
  writeFileSync(keyFile, `ops:${OLD}:admin\n`);
  writeConfig(['http://a.example'], 1000);
  server = await startServer(['--config', configFile], { portFlag: false, env: { FORJA_LOG__LEVEL: undefined, FORJA_API_KEYS: undefined } });
  url = server.url;
});

after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('security settings reload live', () => {
  test('a new key file + SIGHUP: the old key and its dashboard session are refused, the new key works', async () => {
    assert.equal(await status(OLD), 200);
    assert.equal(await status(NEW), 401);
    const login = await fetch(`${url}/dashboard/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: OLD }) });
    assert.equal(login.status, 200);
    const cookie = { cookie: (login.headers.get('set-cookie') ?? '').split(';')[0] };
    assert.equal((await fetch(`${url}/dashboard/snapshot`, { headers: cookie })).status, 200);

    writeFileSync(keyFile, `ops:${NEW}:admin\n`);
    const mark = output().length;
    server.child.kill('SIGHUP');
    const line = await logLine('the SIGHUP security reload', mark, (l) => l.msg === 'security settings reloaded' && l.trigger === 'SIGHUP');
    assert.deepEqual(line.apiKeys, ['ops']);
    assert.equal(await status(OLD), 401);
    assert.equal(await status(NEW), 200);
    // Same key name, new secret: the session made with the old secret is over.
    assert.equal((await fetch(`${url}/dashboard/snapshot`, { headers: cookie })).status, 401);
    assert.equal(server.child.exitCode, null, 'no restart');
  });

  test('an invalid key file is refused and the running keys stay', async () => {
    writeFileSync(keyFile, 'ops:short:admin\n');
    const mark = output().length;
    server.child.kill('SIGHUP');
    const line = await logLine('the refused security reload', mark, (l) => typeof l.msg === 'string' && l.msg.startsWith('security reload refused'));
    assert.match(String(line.reason), /at least 16 characters/);
    assert.ok(!String(line.reason).includes('short'), 'the secret is not logged');
    assert.equal(await status(NEW), 200);
    writeFileSync(keyFile, `ops:${NEW}:admin\n`);
  });

  test('adding a CORS origin to the config file applies without a restart', async () => {
    const preflight = (origin: string) => fetch(`${url}/v2/models/add`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET' } });
    const allowed = async (origin: string) => (await fetch(`${url}/v2/models/add`, { headers: { origin, authorization: `Bearer ${NEW}` } })).headers.get('access-control-allow-origin');
    assert.equal(await allowed('http://a.example'), 'http://a.example');
    assert.equal(await allowed('http://b.example'), null);
    assert.equal((await preflight('http://b.example')).headers.get('access-control-allow-origin'), null);

    const mark = output().length;
    writeConfig(['http://a.example', 'http://b.example'], 1000);
    const line = await logLine('the file-triggered security reload', mark, (l) => l.msg === 'security settings reloaded' && Array.isArray(l.corsOrigins) && l.corsOrigins.length === 2);
    assert.equal(line.trigger, 'file');
    assert.equal(await allowed('http://b.example'), 'http://b.example');
    const pre = await preflight('http://b.example');
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://b.example');
    assert.equal(await allowed('http://c.example'), null);
  });

  test('a lower rate limit applies without a restart', async () => {
    const mark = output().length;
    writeConfig(['http://a.example', 'http://b.example'], 3);
    const applied = await logLine('the applied reload', mark, (l) => l.msg === 'config reloaded');
    assert.deepEqual(applied.applied, ['security.rate_limit.requests_per_minute']);
    await logLine('the rate-limit security reload', mark, (l) => l.msg === 'security settings reloaded' && l.requestsPerMinute === 3);
    // Eight requests span at most two one-minute windows, so one window sees four of them: past a
    // limit of three that is a 429 (the old limit of 1000 would let all through).
    const codes: number[] = [];
    while (codes.length < 8 && !codes.includes(429)) codes.push(await status(NEW));
    assert.ok(codes.includes(429), JSON.stringify(codes));
  });
});
