/**
 * The prompt-prefix cache: a finished sequence keeps its KV cells, a later prompt sharing a prefix
 * reuses them and decodes only the rest, and what it generates is exactly what a cold run of the
 * same prompt generates. Recurrent models, whose state cannot be cut at a position, start over.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createLlamaLoader } from '../../../../src/inference/backends/llama/index.js';
import { writeTinyLlamaGguf, writeTinyMambaGguf } from '../../../helpers/gguf-writer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'forja-prompt-cache-'));
const registry = new Registry();
const loader = createLlamaLoader({ registry, logger: pino({ level: 'silent' }) });
let llamaFile: string;

const load = (name: string, file: string, parallel = 2) =>
  loader.load({ name, version: '1', path: file, format: 'gguf', config: { threads: 1, parallel, context_size: 1024 } }, { preferGpu: false });
const greedy = (prompt: string, maxTokens = 16) => ({ prompt, maxTokens, temperature: 0 });
const metric = async (name: string, model: string) =>
  (await registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.model === model)?.value ?? 0;

before(() => { llamaFile = writeTinyLlamaGguf(path.join(dir, 'tiny.gguf'), { contextLength: 1024 }); });
after(() => rmSync(dir, { recursive: true, force: true }));

const conversation = 'the cat sat on the mat and then the dog came in and the cat ran away from the dog';
const followUp = `${conversation} and the bird sang a song`;

test('a prompt that extends an earlier one reuses its cells and generates what a cold run generates', async () => {
  const cold = await load('cold', llamaFile);
  let coldFollowUp;
  try {
    coldFollowUp = await cold.complete(greedy(followUp));
    assert.equal(coldFollowUp.usage.cachedTokens, 0, 'nothing is cached before the first request');
  } finally {
    await cold.unload();
  }

  const warm = await load('warm', llamaFile);
  try {
    const first = await warm.complete(greedy(conversation));
    assert.equal(first.usage.cachedTokens, 0);
    const second = await warm.complete(greedy(followUp));
    const shared = warm.tokenize(conversation).length; // the BOS token is cached too; the last shared token may tokenize differently
    assert.ok(second.usage.cachedTokens! >= shared - 1, `reused ${second.usage.cachedTokens} of ${second.usage.promptTokens} prompt tokens`);
    assert.ok(second.usage.cachedTokens! < second.usage.promptTokens, 'at least the last prompt token is decoded');
    assert.equal(second.text, coldFollowUp.text);
    assert.equal(second.usage.promptTokens, coldFollowUp.usage.promptTokens);
    assert.equal(await metric('forja_llm_prompt_cache_hits_total', 'warm'), 1);
    assert.equal(await metric('forja_llm_prompt_cache_tokens_total', 'warm'), second.usage.cachedTokens);
    assert.equal(await metric('forja_llm_prompt_tokens_total', 'warm'), first.usage.promptTokens + second.usage.promptTokens);
  } finally {
    await warm.unload();
  }
});

test('a repeated prompt reuses all but its last token; a diverging one drops the cells after the shared prefix', async () => {
  const model = await load('repeat', llamaFile, 1);
  try {
    const a = await model.complete(greedy(followUp));
    const again = await model.complete(greedy(followUp));
    assert.equal(again.usage.cachedTokens, again.usage.promptTokens - 1);
    assert.equal(again.text, a.text);
    // Shares only the start: the generated tokens and the old tail must not leak into the answer.
    const diverging = 'the cat sat on a hat';
    const warm = await model.complete(greedy(diverging));
    assert.ok(warm.usage.cachedTokens! > 0 && warm.usage.cachedTokens! < warm.usage.promptTokens - 1);
    const cold = await load('repeat-cold', llamaFile, 1);
    try {
      assert.equal(warm.text, (await cold.complete(greedy(diverging))).text);
    } finally {
      await cold.unload();
    }
  } finally {
    await model.unload();
  }
});

test('a cancelled generation leaves no cells behind for the next prompt', async () => {
  const model = await load('cancel', llamaFile, 1);
  try {
    const controller = new AbortController();
    const generation = await model.start({ prompt: conversation, maxTokens: 500, temperature: 1 }, controller.signal);
    for await (const event of generation) { if (event.type === 'text') { controller.abort(); } }
    const next = await model.complete(greedy(conversation));
    assert.equal(next.usage.cachedTokens, 0);
  } finally {
    await model.unload();
  }
});

test('a recurrent model, whose state cannot be cut at a position, starts the sequence over and still answers the same', async () => {
  const model = await load('mamba', writeTinyMambaGguf(path.join(dir, 'mamba.gguf')), 1);
  try {
    const first = await model.complete(greedy(conversation, 8));
    const second = await model.complete(greedy(conversation, 8));
    assert.equal(second.usage.cachedTokens, 0);
    assert.equal(second.text, first.text);
  } finally {
    await model.unload();
  }
});
