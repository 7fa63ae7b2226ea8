/** `forja serve` on a network address without API keys refuses to start and says how to fix it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from '../helpers/server-process.js';

test('serve --host 0.0.0.0 with no keys exits 1 before listening, naming the ways out', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-exposure-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, FORJA_LOG__LEVEL: 'silent' };
    delete env.FORJA_API_KEYS;
    const run = spawnSync(process.execPath, [CLI, 'serve', '--host', '0.0.0.0', '--port', '0', '--models', dir, '--data', path.join(dir, 'data')], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /refusing to listen on 0\.0\.0\.0 without API keys/);
    assert.match(run.stderr, /allow_unauthenticated_remote/);
    assert.doesNotMatch(run.stdout, /listening on/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
