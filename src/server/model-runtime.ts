/**
 * The model side of a Forja process, built from the config: the model manager with a loader per
 * format and the inference service over it. `forja serve` puts HTTP in front of it; `forja worker`
 * hands it to pipelines as ctx.infer / ctx.chat.
 */
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ForjaConfig } from '../config/schema.js';
import { ServingMetrics } from '../telemetry/metrics.js';
import { ModelManager } from '../inference/model-manager.js';
import { InferenceService } from '../inference/inference-service.js';
import { createOnnxLoader } from '../inference/backends/onnx/index.js';
import type { ModelLoader } from '../inference/types.js';
import { lazyLoader } from '../inference/backends/lazy-loader.js';

export interface ModelRuntime {
  manager: ModelManager;
  inference: InferenceService;
  metrics: ServingMetrics;
}

export interface ModelRuntimeOptions {
  logger: Logger;
  registry: Registry;
  /** Extra loaders by format (tests plug theirs in here). */
  loaders?: Partial<Record<'gguf' | 'external', ModelLoader>>;
}

export function createModelRuntime(config: Readonly<ForjaConfig>, { logger, registry, loaders }: ModelRuntimeOptions): ModelRuntime {
  const metrics = new ServingMetrics(registry);
  const m = config.models;
  const manager = new ModelManager({
    repositoryDir: path.resolve(m.dir),
    loaders: {
      onnx: createOnnxLoader({ threads: m.threads ?? 1, instances: m.instances, execution: m.execution, spinning: m.spinning, executionProviders: m.execution_providers, logger, metrics }),
      gguf: lazyLoader(async () => (await import('../inference/backends/llama/index.js')).createLlamaLoader({ registry, logger, threads: m.threads })),
      external: lazyLoader(async () => (await import('../inference/backends/external/index.js')).createExternalLoader({ logger, threads: m.threads })),
      ...loaders,
    },
    budgetBytes: m.memory_budget_bytes ?? Math.floor(os.freemem() * m.memory_budget_fraction),
    keepAliveSeconds: m.keep_alive,
    load: m.load,
    preferGpu: true,
    logger,
    metrics,
  });
  const inference = new InferenceService(manager, metrics, {
    maxBatchSize: m.max_batch_size,
    maxQueueDelayMs: m.max_queue_delay_ms,
    maxQueueSize: m.max_queue_size,
    instances: m.instances,
    timeoutMs: m.timeout_ms,
  }, { threads: m.threads ?? 1, execution: m.execution, executionProviders: m.execution_providers });
  return { manager, inference, metrics };
}
