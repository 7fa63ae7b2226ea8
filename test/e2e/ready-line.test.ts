/**
 * The ready line contract of `forja serve`: the first stdout line that names http://H:P comes only
 * once /v2/health/ready answers 200 (many models make start-up loading slow enough for an early
 * line to be caught), and with JSON logs every stdout line is one JSON object, the ready line
 * included. With pretty logs the ready line is a line for people.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { writeMlpModel } from '../helpers/onnx-models.js';
import { CLI, REPO_ROOT } from '../helpers/server-process.js';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'forja-ready-'));
  for (let i = 0; i < 24; i++) {
    mkdirSync(path.join(dir, `mlp${i}`, '1'), { recursive: true });
    writeMlpModel(path.join(dir, `mlp${i}`, '1', 'model.onnx'), { hidden: 256 });
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts serve, and at the first stdout line naming the URL asks /v2/health/ready at once. */
async function firstUrlLine(format: 'json' | 'pretty') {
  const child = spawn(process.execPath, [CLI, 'serve', '--models', dir, '--port', '0', '--log-format', format], {
    cwd: REPO_ROOT, env: { ...process.env, FORJA_LOG__LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines: string[] = [];
  let answer: { line: string; readyStatus: number } | undefined;
  const found = new Promise<void>((resolve, reject) => {
    const reader = createInterface({ input: child.stdout! });
    reader.on('line', (line) => {
      lines.push(line);
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(line)?.[0];
      if (url && !answer) {
        answer = { line, readyStatus: 0 };
        fetch(`${url}/v2/health/ready`).then((res) => { answer!.readyStatus = res.status; resolve(); }, reject);
      }
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${lines.join('\n')}`)));
  });
  await found;
  child.kill('SIGTERM');
  await exited;
  return { ...answer!, lines };
}

describe('the ready line', () => {
  test('JSON logs: the first line naming the URL comes when ready, and every stdout line is JSON', async () => {
    const { line, readyStatus, lines } = await firstUrlLine('json');
    assert.equal(readyStatus, 200, `the first line naming the URL came before readiness: ${line}`);
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `not JSON: ${l}`);
    const ready = JSON.parse(line);
    assert.match(ready.msg, /^Forja listening on http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(ready.models, 24);
  });

  test('pretty logs: the ready line is for people, and still comes when ready', async () => {
    const { line, readyStatus } = await firstUrlLine('pretty');
    assert.equal(readyStatus, 200, line);
    assert.match(line, /Forja listening on http:\/\/127\.0\.0\.1:\d+/);
    assert.throws(() => JSON.parse(line));
  });
});

describe('the models directory', () => {
  test('a missing models directory starts with no models and says so', async () => {
    const { startServer } = await import('../helpers/server-process.js');
    const server = await startServer(['--models', path.join(dir, 'not-there')]);
    try {
      assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200);
      const index = await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST' })).json();
      assert.deepEqual(index, []);
      assert.match(server.output(), /no models: .*not-there does not exist/);
    } finally {
      await server.stop();
    }
  });

  test('a single .onnx file is a one-model repository named after the file', async () => {
    const { startServer } = await import('../helpers/server-process.js');
    const server = await startServer(['--models', path.join(dir, 'mlp3', '1', 'model.onnx')]);
    try {
      const meta = await (await fetch(`${server.url}/v2/models/model`)).json();
      assert.equal(meta.name, 'model');
      assert.deepEqual(meta.versions, ['1']);
    } finally {
      await server.stop();
    }
  });

  test('a file that is not a model is a config error naming it', async () => {
    const { startServer } = await import('../helpers/server-process.js');
    await assert.rejects(startServer(['--models', path.join(REPO_ROOT, 'package.json')]), /FORJA_ERR_CONFIG_INVALID: models.dir .*package.json is a file but not a model/);
  });
});
