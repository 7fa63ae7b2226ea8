/**
 * The loader runs any architecture llama.cpp supports through the same engine: a generated
 * llama (attention, KV cache) and a generated Mamba (state space, no KV cache).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createLlamaLoader, defaultThreads } from '../../../../src/inference/backends/llama/index.js';
import { writeTinyLlamaGguf, writeTinyMambaGguf } from '../../../helpers/gguf-writer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'forja-loader-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const registry = new Registry();
const loader = createLlamaLoader({ registry, logger: pino({ level: 'silent' }) });

test('default threads leave a core to the main thread', async () => {
  const { availableParallelism } = await import('node:os');
  assert.equal(defaultThreads(), Math.max(1, availableParallelism() - 1));
});

for (const [arch, write] of [['llama', writeTinyLlamaGguf], ['mamba', writeTinyMambaGguf]] as const) {
  test(`a generated ${arch} model loads on CPU and generates deterministically in parallel`, async () => {
    const file = write(path.join(dir, `${arch}.gguf`));
    const model = await loader.load({ name: arch, version: '1', path: file, format: 'gguf', config: { threads: 1, parallel: 3, context_size: 128 } }, { preferGpu: true });
    try {
      assert.equal(model.kind, 'llm');
      assert.equal(model.device, 'cpu');
      assert.equal(model.info.architecture, arch);
      assert.equal(model.info.parallel, 3);
      assert.equal(model.info.threads, 1);
      assert.equal(model.info.contextSize, 128);
      assert.ok(model.memoryBytes > 0);
      const request = { prompt: 'the cat', maxTokens: 10, temperature: 0 };
      const results = await Promise.all([model.complete(request), model.complete(request), model.complete(request)]);
      assert.ok(results[0].usage.completionTokens >= 1);
      for (const r of results) assert.deepEqual(r, results[0]);
    } finally {
      await model.unload();
    }
  });
}

test('after unload, the model refuses new work', async () => {
  const model = await loader.load({ name: 'u', version: '1', path: writeTinyLlamaGguf(path.join(dir, 'u.gguf')), format: 'gguf', config: { threads: 1, context_size: 64 } }, { preferGpu: false });
  await model.unload();
  await assert.rejects(model.start({ prompt: 'x' }), /unloaded/);
});
