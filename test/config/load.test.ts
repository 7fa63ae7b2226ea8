import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ForjaError } from '../../src/errors.js';

/** A fresh directory holding the given files. */
function dirWith(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

function configError(fn: () => unknown): ForjaError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ForjaError, `expected a ForjaError, got ${String(err)}`);
    assert.equal(err.code, 'FORJA_ERR_CONFIG_INVALID');
    return err;
  }
  assert.fail('expected loadConfig to throw');
}

describe('loadConfig', () => {
  test('uses the defaults when there is no file', () => {
    const { config, files, envOverrides } = loadConfig({ cwd: dirWith(), env: {} });
    assert.deepEqual(files, []);
    assert.deepEqual(envOverrides, []);
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.server.port, 8080);
    assert.equal(config.models.dir, './models');
    assert.equal(config.models.load, 'eager');
    assert.equal(config.models.execution_providers, 'auto');
    assert.equal(config.pipelines.backend, 'sqlite');
    assert.equal(config.data.dir, './.forja');
    assert.equal(config.log.level, 'info');
  });

  test('picks up forja.yaml in the working directory', () => {
    const cwd = dirWith({ 'forja.yaml': 'server:\n  port: 9100\nmodels:\n  load: lazy\n' });
    const { config, files } = loadConfig({ cwd, env: {} });
    assert.deepEqual(files, [path.join(cwd, 'forja.yaml')]);
    assert.equal(config.server.port, 9100);
    assert.equal(config.models.load, 'lazy');
    assert.equal(config.server.host, '127.0.0.1', 'keys the file leaves out keep their defaults');
  });

  test('reads an explicit file instead of forja.yaml', () => {
    const cwd = dirWith({ 'forja.yaml': 'server:\n  port: 1111\n', 'other.yaml': 'server:\n  port: 2222\n' });
    const { config, files } = loadConfig({ cwd, env: {}, file: 'other.yaml' });
    assert.deepEqual(files, [path.join(cwd, 'other.yaml')]);
    assert.equal(config.server.port, 2222);
  });

  test('merges forja.<FORJA_ENV>.yaml over the base file', () => {
    const cwd = dirWith({
      'forja.yaml': 'server:\n  port: 1111\n  host: 0.0.0.0\nlog:\n  level: debug\n',
      'forja.prod.yaml': 'server:\n  port: 2222\n',
    });
    const { config, files } = loadConfig({ cwd, env: { FORJA_ENV: 'prod' } });
    assert.deepEqual(files, [path.join(cwd, 'forja.yaml'), path.join(cwd, 'forja.prod.yaml')]);
    assert.equal(config.server.port, 2222);
    assert.equal(config.server.host, '0.0.0.0', 'the overlay merges keys, it does not replace the section');
    assert.equal(config.log.level, 'debug');
  });

  test('FORJA_<SECTION>__<KEY> variables override the files, read as YAML scalars', () => {
    const cwd = dirWith({ 'forja.yaml': 'server:\n  port: 1111\n' });
    const env = {
      FORJA_SERVER__PORT: '9000',
      FORJA_SERVER__ACCESS_LOG: 'true',
      FORJA_MODELS__MEMORY_BUDGET_FRACTION: '0.5',
      FORJA_MODELS__EXECUTION_PROVIDERS: '[cuda, cpu]',
      FORJA_DATA__DIR: '/var/lib/forja',
      UNRELATED: 'x',
    };
    const { config, envOverrides } = loadConfig({ cwd, env });
    assert.equal(config.server.port, 9000);
    assert.equal(config.server.access_log, true);
    assert.equal(config.models.memory_budget_fraction, 0.5);
    assert.deepEqual(config.models.execution_providers, ['cuda', 'cpu']);
    assert.equal(config.data.dir, '/var/lib/forja');
    assert.deepEqual([...envOverrides].sort(), Object.keys(env).filter((k) => k.startsWith('FORJA_')).sort());
  });

  test('CLI overrides win over the file, the overlay and the environment', () => {
    const cwd = dirWith({ 'forja.yaml': 'server:\n  port: 1111\n', 'forja.dev.yaml': 'server:\n  port: 2222\n' });
    const { config } = loadConfig({
      cwd,
      env: { FORJA_ENV: 'dev', FORJA_SERVER__PORT: '3333' },
      overrides: { server: { port: 4444 } },
    });
    assert.equal(config.server.port, 4444);
  });

  test('an invalid config names every bad key in one error', () => {
    const cwd = dirWith({ 'forja.yaml': 'server:\n  port: 70000\nmodels:\n  bogus: 1\n  other: 2\n  load: sometimes\n' });
    const err = configError(() => loadConfig({ cwd, env: {} }));
    for (const key of ['server.port', 'models.bogus', 'models.other', 'models.load']) {
      assert.match(err.message, new RegExp(`${key.replace('.', '\\.')}\\b`), `message names ${key}: ${err.message}`);
    }
    assert.ok(err.message.includes(path.join(cwd, 'forja.yaml')), 'message names the file');
  });

  test('an unknown section is reported by name', () => {
    const err = configError(() => loadConfig({ cwd: dirWith(), env: {}, overrides: { sever: { port: 1 } } }));
    assert.match(err.message, /sever: unknown key/);
  });

  test('malformed YAML is reported with the file name', () => {
    const cwd = dirWith({ 'forja.yaml': 'server:\n  port: [1, 2\n' });
    const err = configError(() => loadConfig({ cwd, env: {} }));
    assert.ok(err.message.includes(path.join(cwd, 'forja.yaml')), err.message);
    assert.match(err.message, /cannot parse/);
  });

  test('a missing explicit file is an error naming it', () => {
    const cwd = dirWith();
    const err = configError(() => loadConfig({ cwd, env: {}, file: 'nope.yaml' }));
    assert.ok(err.message.includes(path.join(cwd, 'nope.yaml')), err.message);
  });

  test('the result is frozen, sections included', () => {
    const { config } = loadConfig({ cwd: dirWith(), env: {} });
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config.server as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => {
      (config as { log: unknown }).log = {};
    }, TypeError);
    assert.equal(config.server.port, 8080);
  });
});
