/**
 * GGUF decode threads come from model.yaml, else from the global `models.threads`, else the
 * machine's default; read back from the real server's "language model loaded" log lines.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { writeTinyLlamaGguf } from '../helpers/gguf-writer.js';
import { tempRepo } from '../helpers/model-repo.js';
import { startServer } from '../helpers/server-process.js';

test('models.threads applies to GGUF models; model.yaml threads wins over it', { timeout: 120_000 }, async () => {
  const repo = tempRepo();
  try {
    writeTinyLlamaGguf(path.join(repo.dir, 'global.gguf'));
    writeTinyLlamaGguf(repo.versionPath('own', '1', 'model.gguf'));
    repo.modelYaml('own', 'threads: 2\n');
    // 3 is neither this machine's default (cores - 1) on the small machines tests run on, nor model.yaml's value.
    const server = await startServer(['--models', repo.dir], { env: { FORJA_MODELS__THREADS: '3', FORJA_LOG__LEVEL: 'info' } });
    try {
      const loaded = server.output().split('\n').filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; model?: string; threads?: number })
        .filter((l) => l.msg === 'language model loaded');
      assert.equal(loaded.find((l) => l.model === 'global')?.threads, 3);
      assert.equal(loaded.find((l) => l.model === 'own')?.threads, 2);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  } finally {
    repo.remove();
  }
});
