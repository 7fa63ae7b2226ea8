/** Parsing key entries, constant-time lookup, scope rules and the loopback guard. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiKeyStore, hasScope, loadApiKeys, parseApiKeys } from '../../src/security/api-keys.js';
import { assertSafeBinding, isLoopbackHost } from '../../src/security/exposure.js';
import { ForjaError } from '../../src/errors.js';

const S1 = 'aaaaaaaaaaaaaaaa1111';
const S2 = 'bbbbbbbbbbbbbbbb:with:colons';

describe('parseApiKeys', () => {
  test('reads comma- and newline-separated entries, skipping blanks and comments; secrets may hold colons', () => {
    const keys = parseApiKeys(`# operators\none:${S1}:infer+jobs,\n\n two:${S2}:admin `, 'test');
    assert.deepEqual(keys.map((k) => [k.name, [...k.scopes]]), [['one', ['infer', 'jobs']], ['two', ['admin']]]);
    assert.deepEqual(keys.secrets, [S1, S2]);
  });

  test('rejects malformed entries, naming the entry but never echoing the secret', () => {
    const cases = ['nocolons', `name:${S1}`, `bad name:${S1}:infer`, 'short:tooshort:infer', `x:${S1}:write`, `x:${S1}:`];
    for (const text of cases) {
      assert.throws(() => parseApiKeys(text, 'FORJA_API_KEYS'), (err: unknown) => {
        assert.ok(err instanceof ForjaError && err.code === 'FORJA_ERR_CONFIG_INVALID', text);
        assert.match(err.message, /FORJA_API_KEYS, entry 1/);
        assert.ok(!err.message.includes(S1), 'the secret must not appear in the message');
        return true;
      });
    }
  });
});

describe('ApiKeyStore', () => {
  const store = new ApiKeyStore([
    { name: 'one', secret: S1, scopes: ['infer'] },
    { name: 'two', secret: S2, scopes: ['admin'] },
  ]);

  test('finds a key by its exact secret only', () => {
    assert.equal(store.find(S1)?.name, 'one');
    assert.equal(store.find(S2)?.name, 'two');
    assert.equal(store.find(S1 + 'x'), undefined);
    assert.equal(store.find(S1.slice(0, -1)), undefined);
    assert.equal(store.find(''), undefined);
  });

  test('admin includes every scope; others only their own', () => {
    const one = store.find(S1)!;
    const two = store.find(S2)!;
    assert.ok(hasScope(one, 'infer') && !hasScope(one, 'jobs') && !hasScope(one, 'admin'));
    assert.ok(hasScope(two, 'infer') && hasScope(two, 'jobs') && hasScope(two, 'admin'));
  });

  test('refuses duplicate names and reused secrets', () => {
    assert.throws(() => new ApiKeyStore([{ name: 'a', secret: S1, scopes: ['infer'] }, { name: 'a', secret: S2, scopes: ['infer'] }]), /defined twice/);
    assert.throws(() => new ApiKeyStore([{ name: 'a', secret: S1, scopes: ['infer'] }, { name: 'b', secret: S1, scopes: ['jobs'] }]), /reuses the secret/);
  });
});

describe('loadApiKeys', () => {
  test('merges the environment variable and the key file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-keys-'));
    try {
      const file = path.join(dir, 'keys.txt');
      writeFileSync(file, `# one per line\nfile-key:${S2}:jobs\n`);
      const store = loadApiKeys({ envName: 'MY_KEYS', file, env: { MY_KEYS: `env-key:${S1}:infer` } });
      assert.deepEqual(store.names(), ['env-key', 'file-key']);
      assert.equal(loadApiKeys({ envName: 'MY_KEYS', env: {} }).size, 0);
      assert.throws(() => loadApiKeys({ envName: 'MY_KEYS', file: path.join(dir, 'missing'), env: {} }), /cannot read API key file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('loopback guard', () => {
  test('recognises loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(host), host);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.1', 'example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(host), host);
  });

  test('refuses a network address without keys unless explicitly allowed', () => {
    assert.throws(() => assertSafeBinding('0.0.0.0', 0, false), /refusing to listen on 0\.0\.0\.0 without API keys/);
    assert.doesNotThrow(() => assertSafeBinding('0.0.0.0', 1, false));
    assert.doesNotThrow(() => assertSafeBinding('0.0.0.0', 0, true));
    assert.doesNotThrow(() => assertSafeBinding('127.0.0.1', 0, false));
  });
});
