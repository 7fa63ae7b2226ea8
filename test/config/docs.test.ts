import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';
import { modelConfigSchema } from '../../src/inference/model-config.js';

// dist/test/config/docs.test.js -> docs/configuration.md at the repository root
const DOCS = readFileSync(fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url)), 'utf8');
const MODEL_YAML_DOCS = DOCS.slice(DOCS.indexOf('## model.yaml'));

/** The keys of an object schema, looking through .default() and .optional() wrappers. */
function keysOf(schema: z.ZodType): Record<string, z.ZodType> {
  let current: z.ZodType = schema;
  while (current instanceof z.ZodDefault || current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
  assert.ok(current instanceof z.ZodObject, 'expected an object schema');
  return current.shape as Record<string, z.ZodType>;
}

/** The first cells of the table rows in a piece of markdown: | `key` | ... (keys may hold digits: slo.p95_ms) */
function documentedKeys(markdown: string): string[] {
  return [...markdown.matchAll(/^\| `([a-z0-9_.]+)` \|/gm)].map((m) => m[1]);
}

const configKeys = Object.entries(configSchema.shape).flatMap(([section, schema]) => Object.keys(keysOf(schema)).map((key) => `${section}.${key}`));
const modelKeys = Object.entries(modelConfigSchema.shape).flatMap(([key, schema]) =>
  key === 'backend' ? ['backend', ...Object.keys(keysOf(schema)).map((sub) => `backend.${sub}`)] : [key]);

describe('docs/configuration.md', () => {
  test('walks a real schema (sanity check of the walker)', () => {
    assert.ok(configKeys.includes('server.port') && configKeys.includes('log.level'));
    assert.ok(modelKeys.includes('max_batch_size') && modelKeys.includes('backend.type'));
  });

  test('documents every server config key in a table row', () => {
    const rows = documentedKeys(DOCS.slice(0, DOCS.indexOf('## model.yaml')));
    for (const key of configKeys) assert.ok(rows.includes(key), `docs/configuration.md has no row for ${key}`);
  });

  test('documents every model.yaml key in the model.yaml table', () => {
    const rows = documentedKeys(MODEL_YAML_DOCS);
    for (const key of modelKeys) assert.ok(rows.includes(key), `docs/configuration.md has no model.yaml row for ${key}`);
  });

  test('documents no key that does not exist', () => {
    const stale = [...documentedKeys(DOCS.slice(0, DOCS.indexOf('## model.yaml'))).filter((k) => !configKeys.includes(k)),
      ...documentedKeys(MODEL_YAML_DOCS).filter((k) => !modelKeys.includes(k))];
    assert.deepEqual(stale, []);
  });

  test('describes each configuration layer', () => {
    for (const needle of ['forja.yaml', '--config', 'FORJA_ENV', 'FORJA_<SECTION>__<KEY>', 'FORJA_SERVER__PORT', '--port']) {
      assert.ok(DOCS.includes(needle), `docs/configuration.md does not mention ${needle}`);
    }
  });
});
