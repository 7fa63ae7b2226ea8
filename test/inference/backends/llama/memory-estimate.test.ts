/** The memory estimate counts weights plus the KV cache for every sequence (or the recurrent state). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createLlamaLoader, estimateGgufMemory, validateGguf } from '../../../../src/inference/backends/llama/index.js';
import { writeTinyLlamaGguf, writeTinyMambaGguf } from '../../../helpers/gguf-writer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'forja-mem-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('an attention model grows with context size and sequences by its KV cache', async () => {
  const summary = await validateGguf(writeTinyLlamaGguf(path.join(dir, 'l.gguf'), { layers: 2, embedding: 32, heads: 4, kvHeads: 2 }));
  const small = estimateGgufMemory(summary, { contextSize: 256, sequences: 1, batchSize: 512 });
  const long = estimateGgufMemory(summary, { contextSize: 512, sequences: 1, batchSize: 512 });
  const wide = estimateGgufMemory(summary, { contextSize: 256, sequences: 4, batchSize: 512 });
  assert.ok(small > summary.weightBytes);
  // KV per token: layers 2 x kv heads 2 x (8 + 8) dims x 2 bytes = 128 bytes.
  assert.equal(long - small, 256 * 128);
  assert.equal(wide - small, 3 * 256 * 128);
});

test('a recurrent model does not grow with context size', async () => {
  const summary = await validateGguf(writeTinyMambaGguf(path.join(dir, 'm.gguf')));
  const a = estimateGgufMemory(summary, { contextSize: 256, sequences: 2, batchSize: 512 });
  const b = estimateGgufMemory(summary, { contextSize: 4096, sequences: 2, batchSize: 512 });
  assert.equal(a, b);
});

test('the loader estimates before loading, and model.yaml memory_bytes overrides it', async () => {
  const loader = createLlamaLoader({ registry: new Registry(), logger: pino({ level: 'silent' }) });
  const file = path.join(dir, 'l.gguf');
  const estimate = await loader.estimateMemory({ name: 'l', version: '1', path: file, format: 'gguf', config: {} });
  assert.ok(estimate > statSync(file).size);
  assert.equal(await loader.estimateMemory({ name: 'l', version: '1', path: file, format: 'gguf', config: { memory_bytes: 12345 } }), 12345);
});
