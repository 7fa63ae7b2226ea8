/** Secrets sent with a request never reach the logs: access logs, error logs and objects logged by hand. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/telemetry/logger.js';
import { validateConfig } from '../../src/config/load.js';
import { buildServer } from '../../src/server/app.js';
import { writeCorruptModel } from '../helpers/onnx-models.js';

const SECRET = 'do-not-log-me-0123456789abcdef';

function capture(): { stream: Writable; text(): string } {
  let text = '';
  const stream = new Writable({ write(chunk, _enc, done) { text += chunk.toString(); done(); } });
  return { stream, text: () => text };
}

describe('log redaction', () => {
  test('objects carrying request headers or key fields are logged with the secrets censored', () => {
    const out = capture();
    const logger = createLogger('trace', out.stream);
    logger.info({ req: { method: 'GET', headers: { authorization: `Bearer ${SECRET}`, 'x-api-key': SECRET, cookie: SECRET } } }, 'request');
    logger.warn({ headers: { authorization: `Bearer ${SECRET}` } }, 'headers');
    logger.info({ upstream: { headers: { 'x-api-key': SECRET } }, apiKey: SECRET, secret: SECRET, key: { apiKey: SECRET } }, 'fields');
    assert.ok(out.text().length > 0);
    assert.ok(!out.text().includes(SECRET), out.text());
    assert.match(out.text(), /\[redacted\]/);
  });

  test('a real server with access logs and failing requests does not leak Authorization or x-api-key', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-redact-'));
    const envName = `FORJA_TEST_REDACT_${process.pid}`;
    process.env[envName] = `ops:${SECRET}:admin`;
    const out = capture();
    try {
      mkdirSync(path.join(dir, 'models'));
      // A model that fails to load, so the server also writes error lines.
      writeCorruptModel(path.join(dir, 'models', 'broken.onnx'));
      const config = validateConfig({
        server: { host: '127.0.0.1', port: 0, access_log: true },
        models: { dir: path.join(dir, 'models'), load: 'lazy' },
        data: { dir: path.join(dir, 'data') },
        security: { api_keys_env: envName },
      });
      const server = await buildServer(config, { logger: createLogger('trace', out.stream) });
      const url = await server.start();
      try {
        await fetch(`${url}/v2/models/broken/infer`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }, body: '{"inputs":[]}' });
        await fetch(`${url}/v2/models/broken`, { headers: { 'x-api-key': SECRET } });
        await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${SECRET}x` } });
        await fetch(`${url}/metrics`, { headers: { authorization: `Basic ${SECRET}` } });
      } finally {
        await server.close();
      }
      const text = out.text();
      assert.match(text, /"url":"\/v2\/models\/broken\/infer"/, 'the access log was written');
      assert.ok(!text.includes(SECRET), 'a secret reached the log');
    } finally {
      delete process.env[envName];
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
