/**
 * Loads GGUF language models. Every file is validated in JavaScript first (a bad file must fail
 * the load, not abort the process), its memory is estimated from metadata, then it is loaded on
 * the GPU when one is available and wanted, falling back to the CPU (logged and counted).
 * Threads are always set explicitly: the library default oversubscribes small machines.
 */
import { availableParallelism } from 'node:os';
import { getLlama, type Llama, type LlamaContext, type LlamaModel, type Token } from 'node-llama-cpp';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errors, ForjaError } from '../../../errors.js';
import type { LanguageModel, ModelLoader, ModelVersionSource } from '../../types.js';
import { ChatPrompt } from './chat-prompt.js';
import { GenerationEngine } from './generation-engine.js';
import { validateGguf, type GgufSummary } from './gguf-validation.js';
import { LlamaLanguageModel } from './llama-model.js';
import { llmMetrics } from './llm-metrics.js';
import { estimateGgufMemory, type ContextShape } from './memory-estimate.js';
import { nativeHandles } from './native-bindings.js';
import { SamplerFactory } from './sampling.js';
import { TokenLowerBound } from './token-bound.js';

export interface LlamaLoaderDeps {
  registry: Registry;
  logger: Logger;
  /** A node-llama-cpp runtime to share; by default one is created on first use (GPU if a prebuilt GPU binary fits). */
  llama?: Llama;
  /** Decode threads of a model whose model.yaml sets none (config `models.threads`); unset: defaultThreads(). */
  threads?: number;
}

export interface LlamaLoader extends ModelLoader {
  load(source: ModelVersionSource, options: { preferGpu: boolean; signal?: AbortSignal }): Promise<LanguageModel>;
  /** The runtime in use (created on first call). */
  runtime(): Promise<Llama>;
}

const DEFAULT_PARALLEL = 4;
const DEFAULT_CONTEXT_CAP = 4096;
const DEFAULT_BATCH = 512;
const DEFAULT_MAX_WAITING = 64;

/** cores - 1, at least 1: leaves a core to the Node main thread (2 threads on 2 cores is ~20x slower). */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

interface Settings extends ContextShape {
  threads: number;
  maxWaiting: number;
}

function settingsFor(source: ModelVersionSource, summary: GgufSummary, globalThreads: number | undefined): Settings {
  const c = source.config;
  const sequences = c.parallel ?? DEFAULT_PARALLEL;
  return {
    contextSize: c.context_size ?? Math.min(summary.trainContextSize, DEFAULT_CONTEXT_CAP),
    sequences,
    batchSize: Math.max(DEFAULT_BATCH, sequences),
    threads: c.threads ?? globalThreads ?? defaultThreads(),
    maxWaiting: c.max_waiting ?? DEFAULT_MAX_WAITING,
  };
}

export function createLlamaLoader(deps: LlamaLoaderDeps): LlamaLoader {
  let runtime: Promise<Llama> | undefined = deps.llama ? Promise.resolve(deps.llama) : undefined;
  const metrics = llmMetrics(deps.registry);
  const getRuntime = () => {
    runtime ??= getLlama({ gpu: 'auto', build: 'never', logLevel: 'error' as never, logger: (level, message) => deps.logger.debug({ level }, message.trim()) });
    return runtime;
  };

  async function openContext(llama: Llama, source: ModelVersionSource, settings: Settings, gpuLayers: 'auto' | 0, signal?: AbortSignal): Promise<{ model: LlamaModel; context: LlamaContext }> {
    const model = await llama.loadModel({ modelPath: source.path, gpuLayers, loadSignal: signal });
    try {
      const context = await model.createContext({
        contextSize: settings.contextSize,
        sequences: settings.sequences,
        batchSize: settings.batchSize,
        threads: settings.threads,
        createSignal: signal,
      });
      return { model, context };
    } catch (err) {
      await model.dispose();
      throw err;
    }
  }

  return {
    runtime: getRuntime,

    async estimateMemory(source: ModelVersionSource): Promise<number> {
      if (source.config.memory_bytes) return source.config.memory_bytes;
      const summary = await validateGguf(source.path, await getRuntime());
      return estimateGgufMemory(summary, settingsFor(source, summary, deps.threads));
    },

    async load(source: ModelVersionSource, { preferGpu, signal }): Promise<LanguageModel> {
      const llama = await getRuntime();
      const summary = await validateGguf(source.path, llama);
      const settings = settingsFor(source, summary, deps.threads);
      const log = deps.logger.child({ model: source.name, version: source.version });
      const wantsGpu = preferGpu && !(source.config.execution_providers?.length === 1 && source.config.execution_providers[0] === 'cpu');
      let opened: { model: LlamaModel; context: LlamaContext } | undefined;
      let device: 'gpu' | 'cpu' = 'cpu';
      if (wantsGpu && llama.gpu !== false) {
        try {
          opened = await openContext(llama, source, settings, 'auto', signal);
          device = opened.model.gpuLayers > 0 ? 'gpu' : 'cpu';
        } catch (err) {
          log.warn({ from: 'gpu', to: 'cpu', reason: (err as Error).message }, 'GPU load failed; falling back to CPU');
          metrics.fallbacks.labels(source.name, source.version, 'gpu', 'cpu').inc();
        }
      } else if (wantsGpu) {
        log.debug('no GPU runtime available; loading on CPU');
      }
      try {
        opened ??= await openContext(llama, source, settings, 0, signal);
      } catch (err) {
        if (err instanceof ForjaError) throw err;
        throw errors.MODEL_UNAVAILABLE(`cannot load ${source.name} version ${source.version}: ${(err as Error).message}`, { cause: err });
      }
      const { model, context } = opened;
      try {
        const native = nativeHandles(llama, model, context);
        const label = source.name;
        const completionTokens = metrics.completionTokens.labels(label);
        const engine = new GenerationEngine(native.context, {
          sequences: settings.sequences,
          contextSize: settings.contextSize,
          batchSize: settings.batchSize,
          maxWaiting: settings.maxWaiting,
          isEndOfGeneration: (token) => model.isEogToken(token as Token),
          hooks: {
            queueChanged: (running, waiting) => { metrics.running.labels(label).set(running); metrics.waiting.labels(label).set(waiting); },
            promptIngested: (tokens, cached) => {
              metrics.promptTokens.labels(label).inc(tokens);
              if (cached > 0) { metrics.promptCacheHits.labels(label).inc(); metrics.promptCacheTokens.labels(label).inc(cached); }
            },
            firstToken: (seconds) => metrics.timeToFirstToken.labels(label).observe(seconds),
            tokenGenerated: () => completionTokens.inc(),
            finished: (generated, perToken) => {
              if (generated > 1) metrics.timePerOutputToken.labels(label).observe(perToken);
            },
          },
        });
        const chat = new ChatPrompt(model);
        const memoryBytes = source.config.memory_bytes ?? estimateGgufMemory(summary, settings);
        log.info({ architecture: summary.architecture, device, threads: settings.threads, parallel: settings.sequences, contextSize: settings.contextSize, chatTemplate: chat.templateName }, 'language model loaded');
        const tokenizer = ((summary.info.metadata.tokenizer ?? {}) as { ggml?: { model?: unknown; tokens?: unknown[] } }).ggml;
        return new LlamaLanguageModel({
          llama, model, context, native, engine, chat,
          tokenBound: TokenLowerBound.fromVocabulary(tokenizer?.model, tokenizer?.tokens ?? []),
          samplers: new SamplerFactory(llama, model, native),
          device,
          memoryBytes,
          info: {
            architecture: summary.architecture,
            contextSize: settings.contextSize,
            trainContextSize: summary.trainContextSize,
            parallel: settings.sequences,
            threads: settings.threads,
            embeddingSize: model.embeddingVectorSize,
            chatTemplate: chat.templateName,
          },
        });
      } catch (err) {
        await context.dispose();
        await model.dispose();
        throw err;
      }
    },
  };
}
