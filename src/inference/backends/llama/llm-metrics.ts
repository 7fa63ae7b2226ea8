/**
 * Per-model LLM metrics on the server's prom-client Registry. Several loaders (and tests) may
 * share one registry, so each metric is created once per registry and then reused.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const TTFT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const TPOT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export interface LlmMetrics {
  promptTokens: Counter<'model'>;
  promptCacheHits: Counter<'model'>;
  promptCacheTokens: Counter<'model'>;
  completionTokens: Counter<'model'>;
  timeToFirstToken: Histogram<'model'>;
  timePerOutputToken: Histogram<'model'>;
  running: Gauge<'model'>;
  waiting: Gauge<'model'>;
  fallbacks: Counter<'model' | 'version' | 'from' | 'to'>;
}

const cache = new WeakMap<Registry, LlmMetrics>();

export function llmMetrics(registry: Registry): LlmMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const reuse = <M>(name: string, create: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? create();
  const metrics: LlmMetrics = {
    promptTokens: reuse('forja_llm_prompt_tokens_total', () => new Counter({ name: 'forja_llm_prompt_tokens_total', help: 'Prompt tokens processed, per model.', labelNames: ['model'], registers })),
    promptCacheHits: reuse('forja_llm_prompt_cache_hits_total', () => new Counter({ name: 'forja_llm_prompt_cache_hits_total', help: 'Requests whose prompt reused cached KV cells of an earlier one, per model.', labelNames: ['model'], registers })),
    promptCacheTokens: reuse('forja_llm_prompt_cache_tokens_total', () => new Counter({ name: 'forja_llm_prompt_cache_tokens_total', help: 'Prompt tokens reused from the prompt-prefix cache instead of decoded, per model.', labelNames: ['model'], registers })),
    completionTokens: reuse('forja_llm_completion_tokens_total', () => new Counter({ name: 'forja_llm_completion_tokens_total', help: 'Tokens generated, per model.', labelNames: ['model'], registers })),
    timeToFirstToken: reuse('forja_llm_time_to_first_token_seconds', () => new Histogram({ name: 'forja_llm_time_to_first_token_seconds', help: 'Time from admission to the first generated token.', labelNames: ['model'], buckets: TTFT_BUCKETS, registers })),
    timePerOutputToken: reuse('forja_llm_time_per_output_token_seconds', () => new Histogram({ name: 'forja_llm_time_per_output_token_seconds', help: 'Mean time between generated tokens, per request.', labelNames: ['model'], buckets: TPOT_BUCKETS, registers })),
    running: reuse('forja_llm_requests_running', () => new Gauge({ name: 'forja_llm_requests_running', help: 'Requests holding a sequence.', labelNames: ['model'], registers })),
    waiting: reuse('forja_llm_requests_waiting', () => new Gauge({ name: 'forja_llm_requests_waiting', help: 'Requests waiting for a free sequence.', labelNames: ['model'], registers })),
    fallbacks: reuse('forja_model_fallbacks_total', () => new Counter({ name: 'forja_model_fallbacks_total', help: 'Loads that fell back from one device to another.', labelNames: ['model', 'version', 'from', 'to'], registers })),
  };
  cache.set(registry, metrics);
  return metrics;
}
