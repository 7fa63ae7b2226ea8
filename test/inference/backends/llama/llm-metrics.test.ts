/** Per-model LLM metrics: token counters with true counts, latency histograms, queue gauges. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createLlamaLoader } from '../../../../src/inference/backends/llama/index.js';
import { writeTinyLlamaGguf } from '../../../helpers/gguf-writer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'forja-metrics-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a generation is counted in forja_llm_* metrics of its model', async () => {
  const registry = new Registry();
  const loader = createLlamaLoader({ registry, logger: pino({ level: 'silent' }) });
  const model = await loader.load({ name: 'm1', version: '1', path: writeTinyLlamaGguf(path.join(dir, 'm.gguf')), format: 'gguf', config: { threads: 1, context_size: 64 } }, { preferGpu: false });
  const r1 = await model.complete({ prompt: 'the cat', maxTokens: 5, temperature: 0 });
  const r2 = await model.complete({ prompt: 'hello world', maxTokens: 7, temperature: 0 });
  await model.unload();
  const value = async (name: string, suffix = '') => {
    const metric = await registry.getSingleMetric(name)!.get();
    return metric.values.find((v) => v.labels.model === 'm1' && (suffix === '' || (v as { metricName?: string }).metricName === name + suffix))?.value;
  };
  assert.equal(await value('forja_llm_prompt_tokens_total'), r1.usage.promptTokens + r2.usage.promptTokens);
  assert.equal(await value('forja_llm_completion_tokens_total'), r1.usage.completionTokens + r2.usage.completionTokens);
  assert.equal(await value('forja_llm_time_to_first_token_seconds', '_count'), 2);
  assert.ok((await value('forja_llm_time_per_output_token_seconds', '_count'))! >= 1);
  assert.equal(await value('forja_llm_requests_running'), 0);
  assert.equal(await value('forja_llm_requests_waiting'), 0);
  const text = await registry.metrics();
  assert.match(text, /# TYPE forja_llm_time_to_first_token_seconds histogram/);
});
