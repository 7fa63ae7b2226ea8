/**
 * Creates ONNX sessions. Tries the execution providers in order; a provider that fails falls
 * through to the next one, and the fallback is logged and counted.
 */
import { statSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { Logger } from 'pino';
import type { ModelLoader, ModelVersionSource, TensorModel } from '../../types.js';
import type { ServingMetrics } from '../../../telemetry/metrics.js';
import { OnnxModel } from './onnx-model.js';
import { SessionThread } from './session-thread.js';
import { BufferPool } from './buffer-pool.js';
import { INLINE_BELOW_MS, timeWarmup } from './warmup.js';
import { providerOrder, type ProviderName } from './execution-providers.js';
import { errors } from '../../../errors.js';

export interface OnnxLoaderOptions {
  threads: number;
  /** Sessions per model version (model.yaml `instances` wins). */
  instances: number;
  /** worker: sessions on worker threads; inline: on the main thread; auto: chosen by a timed warm-up (model.yaml `execution` wins). */
  execution: 'auto' | 'worker' | 'inline';
  spinning: boolean;
  executionProviders: 'auto' | readonly ProviderName[];
  logger: Logger;
  metrics: ServingMetrics;
}

// onnxruntime keeps weights plus arena buffers: twice the file is a fair first estimate.
const MEMORY_FACTOR = 2;
const MEMORY_FLOOR = 4 * 1024 * 1024;
// onnxruntime severities: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal.
const ORT_LOG_FATAL = 4;

export function createOnnxLoader(options: OnnxLoaderOptions): ModelLoader {
  return {
    async estimateMemory(source: ModelVersionSource): Promise<number> {
      if (source.config.memory_bytes) return source.config.memory_bytes;
      const instances = (source.config.instances ?? options.instances);
      return Math.max(MEMORY_FLOOR, statSync(source.path).size * MEMORY_FACTOR * instances);
    },

    async load(source: ModelVersionSource, { preferGpu }): Promise<TensorModel> {
      const configured = source.config.execution_providers ?? options.executionProviders;
      let order = providerOrder(configured);
      if (!preferGpu) order = order.filter((p) => p !== 'cuda');
      if (order.length === 0) order = ['cpu'];
      const memoryBytes = await this.estimateMemory(source);
      const failures: string[] = [];
      for (const [index, provider] of order.entries()) {
        try {
          const model = await createModel(source, sessionOptions(provider, source, options), provider === 'cuda' ? 'gpu' : 'cpu', memoryBytes, options);
          if (index > 0) {
            const from = order[0];
            options.logger.warn({ model: source.name, version: source.version, from, to: provider, reason: failures.join('; ') }, 'execution provider fallback');
            options.metrics.fallbacks.labels(source.name, source.version, from, provider).inc();
          }
          return model;
        } catch (err) {
          failures.push(`${provider}: ${firstLine(err)}`);
        }
      }
      throw errors.MODEL_UNAVAILABLE(`cannot load ${source.name} version ${source.version}: ${failures.join('; ')}`);
    },
  };
}

async function createModel(source: ModelVersionSource, sessionOpts: ort.InferenceSession.SessionOptions, device: 'gpu' | 'cpu', memoryBytes: number, options: OnnxLoaderOptions): Promise<OnnxModel> {
  const execution = source.config.execution ?? options.execution;
  const logger = options.logger.child({ model: source.name, version: source.version });
  const inline = async () => {
    const session = await ort.InferenceSession.create(source.path, sessionOpts);
    return new OnnxModel({ kind: 'inline', session }, { inputs: session.inputMetadata, outputs: session.outputMetadata }, device, memoryBytes, logger);
  };
  if (execution === 'inline') return warmedUp(await inline(), source, options);
  const count = source.config.instances ?? options.instances;
  const pool = new BufferPool();
  const threads = Array.from({ length: count }, () => new SessionThread(pool));
  let model: OnnxModel;
  try {
    const loaded = await Promise.all(threads.map((t) => t.load(source.path, sessionOpts)));
    model = new OnnxModel({ kind: 'threads', threads, pool }, loaded[0], device, memoryBytes, logger);
  } catch (err) {
    await Promise.all(threads.map((t) => t.release().catch(() => undefined)));
    throw err;
  }
  if (execution === 'worker') return warmedUp(model, source, options);
  // auto: time the model on its worker; a model faster than the thread hop runs inline instead.
  const ms = await timeWarmup(model).catch(() => undefined);
  if (ms === undefined || ms >= INLINE_BELOW_MS || count > 1) {
    options.logger.info({ model: source.name, version: source.version, execution: 'worker', warmupMs: ms }, 'execution chosen');
    return model;
  }
  await model.unload();
  options.logger.info({ model: source.name, version: source.version, execution: 'inline', warmupMs: ms }, 'execution chosen');
  return inline();
}

/** Runs the configured warm-up (model.yaml `warmup: true`) so the first request does not pay for it. */
async function warmedUp(model: OnnxModel, source: ModelVersionSource, options: OnnxLoaderOptions): Promise<OnnxModel> {
  if (!source.config.warmup) return model;
  const ms = await timeWarmup(model, 1);
  options.logger.info({ model: source.name, version: source.version, warmupMs: ms ?? 'skipped: dynamic non-batch dimensions' }, 'warm-up');
  return model;
}

function sessionOptions(provider: ProviderName, source: ModelVersionSource, options: OnnxLoaderOptions): ort.InferenceSession.SessionOptions {
  const spinning = options.spinning ? '1' : '0';
  return {
    executionProviders: [provider],
    intraOpNumThreads: source.config.threads ?? options.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // onnxruntime would print its own lines on stderr, beside the JSON logs; only fatal ones are left
    // to it. Every failure also comes back as an error, which is logged through pino (onnx-model.ts).
    logSeverityLevel: ORT_LOG_FATAL,
    logId: `${source.name}:${source.version}`,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: spinning }, inter_op: { allow_spinning: spinning } } },
  };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);
}
