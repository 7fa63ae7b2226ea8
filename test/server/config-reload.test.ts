/**
 * Config hot reload in a real `forja serve --config FILE` child. The port comes from the file
 * (port 0), not from a --port flag, because a flag would win over the file and hide a port change.
 * Everything is awaited by polling /metrics or the process output; no fixed sleeps.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { writeAddModel } from '../helpers/onnx-models.js';
import { validateConfig } from '../../src/config/load.js';
import { classifyChanges, diffConfigs, RELOADABLE_KEYS, runningConfig } from '../../src/config/reload.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-reload-'));
const configFile = path.join(dir, 'forja.yaml');
const modelsDir = path.join(dir, 'models');
let server: ServerProcess;
let url = '';
const output = () => server.output();

/** The config as YAML; every version keeps the models directory and port 0. */
function writeConfig(models: Record<string, unknown>, level = 'warn', port = 0): void {
  const lines = Object.entries({ dir: modelsDir, ...models }).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  writeFileSync(configFile, `server:\n  port: ${port}\nmodels:\n${lines.join('\n')}\nlog:\n  level: ${level}\n`);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; output so far:\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : NaN;
}
const reloads = (result: string) => metric('forja_config_reloads_total', `result="${result}"`);

function infer(items: number): Promise<Response> {
  const tensor = (name: string) => ({ name, shape: [items, 4], datatype: 'FP32', data: new Array(items * 4).fill(1) });
  return fetch(`${url}/v2/models/add/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [tensor('A'), tensor('B')] }) });
}

/** Log lines (pino JSON) written after `from` characters of output. */
const logLines = (from: number) => output().slice(from).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

before(async () => {
  mkdirSync(path.join(modelsDir, 'add/1'), { recursive: true });
  writeAddModel(path.join(modelsDir, 'add/1/model.onnx'));
  // A long queue delay holds a lone request in the batcher: an in-flight request we control.
  writeConfig({ max_batch_size: 8, max_queue_delay_ms: 10_000 });
  // FORJA_LOG__LEVEL unset: an env override would win over the file and mask a level change.
  server = await startServer(['--config', configFile], { portFlag: false, env: { FORJA_LOG__LEVEL: undefined } });
  url = server.url;
});

after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('config hot reload', () => {
  test('log level and batching apply live; a request in flight during the reload succeeds', async () => {
    assert.equal(await reloads('applied'), 0);
    const inFlight = infer(1);
    await waitFor('the request to wait in the batcher', async () => (await metric('forja_inference_queue_depth', 'model="add",version="1"')) === 1);

    const mark = output().length;
    writeConfig({ max_batch_size: 1, max_queue_delay_ms: 0 }, 'info');
    await waitFor('an applied reload', async () => (await reloads('applied')) >= 1);
    const line = await waitFor('the reload log line', () => logLines(mark).find((l) => l.msg === 'config reloaded'));
    assert.deepEqual(line.applied, ['log.level', 'models.max_batch_size', 'models.max_queue_delay_ms']);
    assert.equal(line.trigger, 'file');

    // The live batcher now cuts at once (delay 0): a second request releases the first.
    const second = await infer(1);
    assert.equal(second.status, 200);
    const first = await inFlight;
    assert.equal(first.status, 200, await first.text());
    // The new max_batch_size (1) applies to the batcher that already existed.
    const tooBig = await infer(2);
    assert.equal(tooBig.status, 400);
    assert.match(await tooBig.text(), /max_batch_size 1/);
  });

  test('an invalid file is rejected with the reason and the running config stays', async () => {
    const mark = output().length;
    writeConfig({ max_batch_size: 'lots', max_queue_delay_ms: 0 }, 'info');
    await waitFor('a rejected reload', async () => (await reloads('rejected')) >= 1);
    const line = await waitFor('the rejection log line', () => logLines(mark).find((l) => l.msg === 'config reload rejected; the running config stays'));
    assert.match(String(line.reason), /models\.max_batch_size/);
    assert.equal(await reloads('applied'), 1);
    assert.equal((await infer(1)).status, 200);
    assert.equal((await infer(2)).status, 400, 'max_batch_size is still 1');
  });

  test('a port change is reported as needing a restart; the server keeps its port', async () => {
    const mark = output().length;
    writeConfig({ max_batch_size: 1, max_queue_delay_ms: 0 }, 'info', 1);
    await waitFor('a restart_required reload', async () => (await reloads('restart_required')) >= 1);
    const line = await waitFor('the restart log line', () => logLines(mark).find((l) => Array.isArray(l.restartRequired)));
    assert.deepEqual(line.restartRequired, ['server.port']);
    assert.equal((await fetch(`${url}/v2/health/live`)).status, 200);
  });

  test('SIGHUP reloads', async () => {
    const mark = output().length;
    const before = await reloads('restart_required');
    server.child.kill('SIGHUP');
    const line = await waitFor('a SIGHUP reload log line', () => logLines(mark).find((l) => l.trigger === 'SIGHUP'));
    // The file still asks for port 1, which the running process cannot take without a restart.
    assert.deepEqual(line.restartRequired, ['server.port']);
    assert.equal(await reloads('restart_required'), before + 1);
    assert.equal(server.child.exitCode, null, 'SIGHUP does not end the process');
  });
});

describe('config/reload.ts: diff and classification', () => {
  const base = validateConfig({ models: { dir: '/m' } });

  test('lists changed keys by dotted path, arrays as values', () => {
    const next = validateConfig({ models: { dir: '/m', max_batch_size: 4, execution_providers: ['cpu'] }, log: { level: 'debug' } });
    assert.deepEqual(diffConfigs(base, next), ['log.level', 'models.execution_providers', 'models.max_batch_size']);
    assert.deepEqual(diffConfigs(base, validateConfig({ models: { dir: '/m' } })), []);
  });

  test('splits reloadable keys from keys that need a restart; section patterns cover their keys', () => {
    assert.deepEqual(classifyChanges(['log.level', 'server.port', 'slo.p95_ms', 'models.threads']), { reloadable: ['log.level', 'slo.p95_ms'], restartRequired: ['server.port', 'models.threads'] });
    assert.deepEqual(classifyChanges(['security.cors_origins'], [...RELOADABLE_KEYS, 'security.*']).reloadable, ['security.cors_origins']);
  });

  test('the running config keeps the old values of restart-only keys and takes the rest', () => {
    const next = validateConfig({ server: { port: 9999 }, models: { dir: '/m', max_batch_size: 2, memory_budget_bytes: 1024 } });
    const running = runningConfig(base, next, ['server.port', 'models.memory_budget_bytes']);
    assert.equal(running.server.port, base.server.port);
    assert.equal(running.models.memory_budget_bytes, undefined);
    assert.equal(running.models.max_batch_size, 2);
    assert.ok(Object.isFrozen(running.models));
    assert.deepEqual(diffConfigs(running, next), ['models.memory_budget_bytes', 'server.port']);
  });
});
