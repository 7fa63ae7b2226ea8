import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/cli/config-check.test.js -> dist/src/cli/main.js
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const cwd = mkdtempSync(path.join(os.tmpdir(), 'forja-cli-'));

/** Runs the real CLI in an empty directory with no FORJA_* variables set. */
function forja(...args: Array<string | Record<string, string>>) {
  const extra = args.find((a): a is Record<string, string> => typeof a === 'object') ?? {};
  const argv = args.filter((a): a is string => typeof a === 'string');
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FORJA_'))), ...extra };
  const result = spawnSync(process.execPath, [MAIN, ...argv], { cwd, env, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function file(name: string, text: string): string {
  const full = path.join(cwd, name);
  writeFileSync(full, text);
  return full;
}

describe('forja config check', () => {
  test('a valid file exits 0 and says config ok', () => {
    const valid = file('valid.yaml', 'server:\n  port: 9000\nmodels:\n  dir: ./m\n');
    const run = forja('config', 'check', valid);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /config ok/);
    assert.ok(run.stdout.includes(valid), 'names the file it read');
  });

  test('an invalid file exits 1 and names the bad key', () => {
    const invalid = file('invalid.yaml', 'server:\n  port: 70000\n');
    const run = forja('config', 'check', invalid);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /server\.port/);
    assert.doesNotMatch(run.stdout, /config ok/);
  });

  test('a bad FORJA_* variable is blamed on the variable, and typos get a suggestion', () => {
    const valid = file('fine.yaml', 'server:\n  port: 8080\n');
    const run = forja('config', 'check', valid, { FORJA_SERVER__PORT: '99999', FORJA_MODELS__THREDS: '2' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^FORJA_ERR_CONFIG_INVALID: /);
    assert.match(run.stderr, /server\.port: .*\(from environment variable FORJA_SERVER__PORT\)/);
    assert.match(run.stderr, /models\.threds: unknown key \(did you mean models\.threads\?\) \(from environment variable FORJA_MODELS__THREDS\)/);
  });

  test('a typo in a config key gets "did you mean"', () => {
    const run = forja('config', 'check', file('typo.yaml', 'server:\n  prot: 8080\n'));
    assert.equal(run.status, 1);
    assert.match(run.stderr, /server\.prot: unknown key \(did you mean server\.port\?\)/);
  });

  test('a missing file exits 1', () => {
    const run = forja('config', 'check', path.join(cwd, 'absent.yaml'));
    assert.equal(run.status, 1);
    assert.match(run.stderr, /not found/);
  });
});

describe('--help', () => {
  const cases: Array<[string[], RegExp[]]> = [
    [['--help'], [/Usage: forja/, /serve/, /config/]],
    [['serve', '--help'], [/Usage: forja serve/, /--config/, /--models/, /--port/, /--host/]],
    [['config', 'check', '--help'], [/Usage: forja config check/, /--print/]],
  ];
  for (const [args, patterns] of cases) {
    test(`forja ${args.join(' ')} exits 0 and lists the options`, () => {
      const run = forja(...args);
      assert.equal(run.status, 0, run.stderr);
      for (const pattern of patterns) assert.match(run.stdout, pattern);
    });
  }
});
