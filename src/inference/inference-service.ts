/**
 * The protocol-neutral entry point for tensor inference: HTTP routes and pipelines both call
 * infer(). It takes a lease on the model version from the manager (loading it if needed), checks
 * the tensors, and hands them to that version's dynamic batcher. A request to a stateful model
 * (model.yaml `sequence:`) is a step of the sequence it names instead (sequences.ts).
 */
import type { ModelManager } from './model-manager.js';
import { isTensorModel, type Tensor, type TensorModel, type TensorSpec } from './types.js';
import { DynamicBatcher, type BatcherOptions } from './batcher.js';
import { validateInputs, validateOutputNames } from './input-validation.js';
import type { ServingMetrics } from '../telemetry/metrics.js';
import { errors } from '../errors.js';
import { InferenceStatistics, type ModelStatistics } from './statistics.js';
import { SessionService } from './sessions.js';
import { SequenceStore, type SequenceFlags } from './sequences.js';
import { effectiveConfig, type BatchingDefaults, type EffectiveConfig, type RuntimeDefaults } from './effective-config.js';

export type { BatchingDefaults } from './effective-config.js';

export interface InferRequest {
  model: string;
  version?: string;
  inputs: Tensor[];
  /** Output names to return; all when absent. */
  outputs?: string[];
  /** Pipeline work: served after waiting HTTP requests. */
  background?: boolean;
  /** The caller will not read the input buffers again (they may be moved to a worker thread). */
  disposable?: boolean;
  /** Triton's sequence_id / sequence_start / sequence_end: required by a stateful model, ignored by others. */
  sequence?: SequenceFlags;
}

export interface InferResult {
  model: string;
  version: string;
  outputs: Tensor[];
}

export interface TensorModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export class InferenceService {
  /** Triton-style per-version statistics, shared by every protocol. */
  readonly statistics = new InferenceStatistics();
  private batchers = new WeakMap<TensorModel, DynamicBatcher>();
  /** The options object each live batcher reads on every cut, so a config reload can retune it in place. */
  private liveOptions = new Map<TensorModel, { options: BatcherOptions; config: TensorModelConfigLike }>();
  /** Sessions with server-kept state: WebSocket streams open them, sequences over REST and gRPC are keyed ones. */
  readonly sessions: SessionService;
  private readonly sequences: SequenceStore;

  constructor(readonly manager: ModelManager, private readonly metrics: ServingMetrics, private defaults: BatchingDefaults, private readonly runtime: RuntimeDefaults = { threads: 1, execution: 'auto', executionProviders: 'auto' }) {
    this.sessions = new SessionService(manager, metrics, this.statistics, () => this.defaults.maxBatchSize);
    this.sequences = new SequenceStore(this.sessions, (model) => manager.getModel(model).config.sequence?.max_sequences ?? Infinity);
    // Drain a version's batcher before its session is released.
    manager.on('unloading', (_source, model) => {
      if (!isTensorModel(model)) return;
      const batcher = this.batchers.get(model);
      this.liveOptions.delete(model);
      if (batcher) void batcher.stop();
    });
  }

  /**
   * Applies reloaded defaults to batchers created from now on, and to live ones where model.yaml does
   * not set the key. Queued requests stay queued; the next batch cut uses the new limits.
   * `instances` is left alone on live batchers: their sessions were created for the old count.
   */
  setDefaults(defaults: BatchingDefaults): void {
    this.defaults = defaults;
    for (const { options, config } of this.liveOptions.values()) {
      if (config.max_batch_size === undefined) options.maxBatchSize = defaults.maxBatchSize;
      if (config.max_queue_delay_ms === undefined) options.maxQueueDelayMs = defaults.maxQueueDelayMs;
      if (config.max_queue_size === undefined) options.maxQueueSize = defaults.maxQueueSize;
    }
  }

  async infer(request: InferRequest): Promise<InferResult> {
    if (this.sessions.isStateful(request.model)) {
      const step = await this.sequences.step(request);
      return { model: request.model, version: step.version, outputs: step.outputs };
    }
    const arrived = performance.now();
    const lease = await this.manager.acquire(request.model, request.version);
    const stats = this.statistics.of(lease.source.name, lease.source.version);
    let ok = false;
    try {
      const model = lease.model;
      if (!isTensorModel(model)) throw errors.MODEL_WRONG_KIND(`model '${request.model}' is a language model; use the OpenAI API (/v1/chat/completions) for it`);
      validateInputs(model, request.model, request.inputs);
      validateOutputNames(model, request.model, request.outputs);
      const timeoutMs = lease.source.config.timeout_ms ?? this.defaults.timeoutMs;
      const outputs = await this.batcherFor(model, lease.source.name, lease.source.version, lease.source.config).enqueue({
        inputs: request.inputs,
        outputs: request.outputs,
        deadline: performance.now() + timeoutMs,
        background: request.background,
        disposable: request.disposable,
      });
      ok = true;
      return { model: request.model, version: lease.source.version, outputs };
    } finally {
      stats.request(ok, performance.now() - arrived);
      lease.release();
    }
  }

  /**
   * Statistics of one version, of every version of one model, or of every model (name omitted).
   * Unknown names and versions are 404s; versions never asked for report zeros.
   */
  statisticsOf(name?: string, version?: string): ModelStatistics[] {
    const names = name === undefined ? this.manager.modelNames() : [this.manager.getModel(name).name];
    const out: ModelStatistics[] = [];
    for (const n of names) {
      const versions = this.manager.getModel(n).versions.map((v) => v.version);
      if (version !== undefined) {
        // versionState resolves the name the way requests do and throws the same 404s.
        out.push(this.statistics.of(n, this.manager.versionState(n, version).version).snapshot());
        continue;
      }
      for (const v of versions) out.push(this.statistics.of(n, v).snapshot());
    }
    return out;
  }

  /** The configuration in force for a version (loading it when needed, to read its inputs and outputs). */
  async configOf(name: string, version?: string): Promise<EffectiveConfig> {
    const lease = await this.manager.acquire(name, version);
    try {
      return effectiveConfig(lease.source, lease.model, this.defaults, this.runtime);
    } finally {
      lease.release();
    }
  }

  /**
   * The most tensor elements one request to a loaded version can carry: every input at its fixed
   * dimensions, the batch dimension at max_batch_size. Undefined when that is unknown without loading
   * or unbounded (not loaded, a dynamic non-batch dimension, BYTES inputs, batching off), so protocols
   * can size request limits to what the model can take.
   */
  requestBound(name: string, version?: string): { elements: number; maxBatchSize: number } | undefined {
    const loaded = this.manager.loadedVersion(name, version);
    const model = loaded?.model;
    if (!loaded || !model || !isTensorModel(model)) return undefined;
    const maxBatchSize = loaded.source.config.max_batch_size ?? this.defaults.maxBatchSize;
    let elements = 0;
    for (const spec of model.inputs) {
      if (spec.datatype === 'BYTES') return undefined;
      let n = 1;
      for (const [i, dim] of spec.shape.entries()) {
        if (dim >= 0) n *= dim;
        else if (i === 0 && model.batchable && maxBatchSize > 0) n *= maxBatchSize;
        else return undefined;
      }
      elements += n;
    }
    return { elements, maxBatchSize };
  }

  /** Metadata read from the loaded model (loading it when needed). */
  async metadata(name: string, version?: string): Promise<TensorModelMetadata> {
    const entry = this.manager.getModel(name);
    const lease = await this.manager.acquire(name, version);
    try {
      const model = lease.model;
      const versions = entry.versions.map((v) => v.version);
      if (!isTensorModel(model)) return { name, versions, platform: 'llama.cpp_gguf', inputs: [], outputs: [] };
      return { name, versions, platform: 'onnxruntime_onnx', inputs: model.inputs, outputs: model.outputs };
    } finally {
      lease.release();
    }
  }

  private batcherFor(model: TensorModel, name: string, version: string, config: TensorModelConfigLike): DynamicBatcher {
    let batcher = this.batchers.get(model);
    if (!batcher) {
      const labels = this.metrics;
      const stats = this.statistics.of(name, version);
      const queueDepth = labels.queueDepth.labels(name, version);
      const batchSize = labels.batchSize.labels(name, version);
      const compute = labels.computeDuration.labels(name, version);
      const queue = labels.queueDuration.labels(name, version);
      const options: BatcherOptions = {
        maxBatchSize: config.max_batch_size ?? this.defaults.maxBatchSize,
        maxQueueDelayMs: config.max_queue_delay_ms ?? this.defaults.maxQueueDelayMs,
        preferredBatchSizes: config.preferred_batch_sizes,
        maxQueueSize: config.max_queue_size ?? this.defaults.maxQueueSize,
        instances: config.instances ?? this.defaults.instances,
        onQueueDepth: (depth) => queueDepth.set(depth),
        onBatch: ({ items, computeMs, queueMs, inputMs, inferMs, outputMs }) => {
          stats.execution({ items, inputMs, inferMs, outputMs, queueMs });
          batchSize.observe(items);
          compute.observe(computeMs / 1000);
          for (const ms of queueMs) queue.observe(ms / 1000);
        },
      };
      batcher = new DynamicBatcher(model, options);
      this.batchers.set(model, batcher);
      this.liveOptions.set(model, { options, config });
    }
    return batcher;
  }
}

type TensorModelConfigLike = import('./model-config.js').ModelConfig;
