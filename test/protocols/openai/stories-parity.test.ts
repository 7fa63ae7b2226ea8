/**
 * With a real trained model (stories260K, when present): greedy output through the server equals
 * node-llama-cpp's own LlamaCompletion with the same settings, and it is the known story.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { LlamaCompletion } from 'node-llama-cpp';
import OpenAI from 'openai';
import { startLlmServer, type LlmServer } from './helpers/llm-server.js';

// dist/test/protocols/openai -> repository root
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const STORIES = path.resolve(repoRoot, '../shared/models/gguf/stories260K.gguf');
const present = existsSync(STORIES);

let server: LlmServer;
before(async () => {
  if (!present) return;
  server = await startLlmServer();
  await server.load('stories', STORIES, { threads: 1, parallel: 2, context_size: 256 });
});
after(async () => { if (present) await server.close(); });

test('greedy "Once upon a time" through the server equals node-llama-cpp called directly', { skip: present ? false : `absent: ${STORIES}` }, async () => {
  const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
  const res = await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 50, temperature: 0 });
  const text = res.choices[0].text;
  assert.match(text, /Lily/);

  const llama = await server.loader.runtime();
  const model = await llama.loadModel({ modelPath: STORIES, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: 256, sequences: 1, threads: 1 });
  try {
    const direct = await new LlamaCompletion({ contextSequence: context.getSequence() }).generateCompletion('Once upon a time', { maxTokens: 50, temperature: 0 });
    assert.equal(text, direct);
  } finally {
    await context.dispose();
    await model.dispose();
  }
});
