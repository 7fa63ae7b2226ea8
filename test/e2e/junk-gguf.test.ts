/**
 * A GGUF with a valid magic and junk after it, next to a good model: the real server still
 * becomes ready, serves the good model, reports the bad one UNAVAILABLE with its reason, and
 * exits 0 on SIGTERM (node-llama-cpp's header reader used to loop on such a file for ever).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import OpenAI from 'openai';
import { writeTinyLlamaGguf } from '../helpers/gguf-writer.js';
import { tempRepo } from '../helpers/model-repo.js';
import { startServer } from '../helpers/server-process.js';

test('a junk GGUF beside a good one: ready, the good one serves, the junk one is UNAVAILABLE, SIGTERM exits 0', { timeout: 120_000 }, async () => {
  const repo = tempRepo();
  try {
    writeTinyLlamaGguf(path.join(repo.dir, 'good.gguf'));
    writeFileSync(path.join(repo.dir, 'junk.gguf'), Buffer.from('GGUF\x03\x00\x00\x00garbage', 'latin1'));
    const server = await startServer(['--models', repo.dir]);
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const answer = await client.completions.create({ model: 'good', prompt: 'hi', max_tokens: 3, temperature: 0 });
      assert.equal(answer.choices.length, 1);

      const index = await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST' })).json() as Array<{ name: string; state: string; reason: string }>;
      const junk = index.find((m) => m.name === 'junk');
      assert.equal(junk?.state, 'UNAVAILABLE');
      assert.match(junk.reason, /invalid GGUF .*junk\.gguf: unreadable header or metadata/);
      assert.equal(index.find((m) => m.name === 'good')?.state, 'READY');
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0);
    }
  } finally {
    repo.remove();
  }
});
