/**
 * Owns every model version's life: loading, reference counts, keep-alive, memory budget, eviction.
 *
 * States of one version:
 *   UNLOADED --load--> LOADING --ok--> READY --unload/evict/idle--> UNLOADING --> UNLOADED
 *                         \--fail--> UNAVAILABLE (reason kept; an explicit load retries)
 * Rules: a version with references (> 0 requests in flight) is never unloaded; an unload asked for
 * while requests run waits for them. Eviction policy: when a load would exceed the budget, idle
 * READY versions go least-recently-used first; if that is not enough the load fails with 503.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { scanRepository, assertSafeName, type RepositoryModel } from './repository.js';
import type { LoadedModel, ModelKind, ModelLoader, ModelVersionSource } from './types.js';
import type { ServingMetrics } from '../telemetry/metrics.js';
import { errors, ForjaError } from '../errors.js';

/** The longest delay setTimeout takes (2^31 - 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

export type VersionState = 'UNLOADED' | 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

export interface ModelManagerOptions {
  repositoryDir: string;
  loaders: Partial<Record<ModelVersionSource['format'], ModelLoader>>;
  budgetBytes: number;
  /** Default seconds an idle model stays loaded; -1 forever. */
  keepAliveSeconds: number;
  load: 'eager' | 'lazy';
  preferGpu: boolean;
  logger: Logger;
  metrics: ServingMetrics;
}

export interface VersionStatus {
  name: string;
  version: string;
  kind: ModelKind;
  state: VersionState;
  reason?: string;
  device?: string;
  memoryBytes: number;
  inFlight: number;
  lastUsed?: number;
  /** Seconds the version stays loaded once idle (the last request's keep-alive, else its model.yaml's, else the server's); -1 forever. */
  keepAliveSeconds: number;
  /** Epoch ms when an idle loaded version will be unloaded; absent while in use, unloaded or kept forever. */
  expiresAt?: number;
}

export interface AcquireOptions {
  /**
   * How long the version stays loaded once this request and any others are done, instead of the
   * configured keep-alive (the last request to take a lease decides); 0 unloads it at once.
   */
  keepAliveSeconds?: number;
}

export interface Lease<M extends LoadedModel = LoadedModel> {
  model: M;
  source: ModelVersionSource;
  release(): void;
}

interface Slot {
  source: ModelVersionSource;
  state: VersionState;
  reason?: string;
  model?: LoadedModel;
  loading?: Promise<LoadedModel>;
  unloading?: Promise<void>;
  reservedBytes: number;
  refs: number;
  lastUsed: number;
  /** Monotonic use order for LRU (timestamps tie within a millisecond). */
  useTick: number;
  keepAliveTimer?: NodeJS.Timeout;
  /** When the keep-alive timer fires (epoch ms). */
  expiresAt?: number;
  /** The keep-alive the last request asked for, if it asked. */
  requestedKeepAlive?: number;
  /** Set by an explicit unload: requests get 503 instead of reloading it behind the operator's back. */
  held: boolean;
  idleWaiters: Array<() => void>;
}

/** What the manager announces: a version became READY; a version is about to be released. */
export interface ModelManagerEvents {
  loaded: [source: ModelVersionSource];
  unloading: [source: ModelVersionSource, model: LoadedModel];
}

export class ModelManager extends EventEmitter<ModelManagerEvents> {
  private models = new Map<string, RepositoryModel>();
  private slots = new Map<string, Slot>();
  private closed = false;
  private tick = 0;

  constructor(private readonly options: ModelManagerOptions) {
    super();
    options.metrics.memoryBudget.set(options.budgetBytes);
  }

  get budgetBytes(): number {
    return this.options.budgetBytes;
  }

  /** A reloaded default keep-alive; each idle model picks it up when its next keep-alive timer starts. */
  setKeepAlive(seconds: number): void {
    this.options.keepAliveSeconds = seconds;
  }

  /** Scans the repository and, in eager mode, loads each model's default version. Never throws for one bad model. */
  async start(): Promise<void> {
    this.rescan();
    if (this.options.load === 'lazy') return;
    for (const model of this.models.values()) {
      if (model.problem || model.config.load === 'lazy') continue;
      try {
        await this.loadVersion(this.slot(model.name, model.defaultVersion));
      } catch {
        // already recorded as UNAVAILABLE with its reason
      }
    }
  }

  /** Re-reads the repository: new models and versions appear, removed idle ones are dropped. */
  rescan(): void {
    this.models = scanRepository(this.options.repositoryDir);
    for (const model of this.models.values()) {
      for (const source of model.versions) {
        const key = slotKey(model.name, source.version);
        const existing = this.slots.get(key);
        if (!existing) {
          this.slots.set(key, newSlot(source, model.problem));
        } else if (existing.state === 'UNLOADED' || existing.state === 'UNAVAILABLE') {
          // A load failure stays until an explicit load; a model.yaml problem follows the file.
          existing.source = source;
          if (model.problem) {
            existing.state = 'UNAVAILABLE';
            existing.reason = model.problem;
          } else if (existing.reason?.startsWith('model.yaml')) {
            existing.state = 'UNLOADED';
            existing.reason = undefined;
          }
        }
      }
    }
    for (const [key, slot] of this.slots) {
      const model = this.models.get(slot.source.name);
      const stillThere = model?.versions.some((v) => v.version === slot.source.version);
      if (!stillThere && slot.state !== 'READY' && slot.state !== 'LOADING' && slot.refs === 0) this.slots.delete(key);
    }
  }

  /** The repository entry for a name; 400 for an unsafe name, 404 for an unknown one. */
  getModel(name: string): RepositoryModel {
    assertSafeName(name, 'model');
    const model = this.models.get(name);
    if (!model) throw errors.MODEL_NOT_FOUND(`model '${name}' is not in the repository`);
    return model;
  }

  modelNames(): string[] {
    return [...this.models.keys()];
  }

  kindOf(name: string): ModelKind {
    return kindOf(this.getModel(name).versions[0]?.format ?? 'onnx');
  }

  /** Takes a reference on a ready version, loading it first when needed. Call release() when done. */
  async acquire(name: string, version?: string, options: AcquireOptions = {}): Promise<Lease> {
    if (this.closed) throw errors.SHUTTING_DOWN('the server is shutting down');
    const slot = this.resolve(name, version);
    if (slot.state !== 'READY') {
      if (slot.held) throw errors.MODEL_NOT_READY(`model '${name}' version ${slot.source.version} is unloaded; load it with POST /v2/repository/models/${name}/load`);
      if (slot.state === 'UNAVAILABLE') throw errors.MODEL_UNAVAILABLE(`model '${name}' version ${slot.source.version} is unavailable: ${slot.reason}`);
      if (slot.state === 'UNLOADING') await slot.unloading;
      await this.loadVersion(slot);
    }
    const model = slot.model;
    // A READY slot holds its model; this only tells the compiler so.
    if (!model) throw errors.MODEL_NOT_READY(`model '${name}' version ${slot.source.version} is not loaded`);
    slot.refs++;
    slot.lastUsed = Date.now();
    slot.useTick = ++this.tick;
    slot.requestedKeepAlive = options.keepAliveSeconds;
    this.stopKeepAlive(slot);
    let released = false;
    return {
      model,
      source: slot.source,
      release: () => {
        if (released) return;
        released = true;
        slot.refs--;
        slot.lastUsed = Date.now();
        if (slot.refs === 0) this.becameIdle(slot);
      },
    };
  }

  /** Explicit load (repository API): rescans, clears a hold or a failure, loads the default version. */
  async load(name: string, version?: string): Promise<void> {
    this.rescan();
    const slot = this.resolve(name, version);
    slot.held = false;
    if (slot.state === 'UNAVAILABLE' && !this.models.get(name)?.problem) slot.state = 'UNLOADED';
    if (slot.state === 'UNAVAILABLE') throw errors.MODEL_UNAVAILABLE(`model '${name}' is unavailable: ${slot.reason}`);
    if (slot.state === 'UNLOADING') await slot.unloading;
    await this.loadVersion(slot);
  }

  /** Explicit unload (repository API): every loaded version; waits for in-flight requests. */
  async unload(name: string, version?: string): Promise<void> {
    const model = this.getModel(name);
    const versions = version ? [this.resolve(name, version)] : model.versions.map((v) => this.slot(name, v.version));
    await Promise.all(versions.map((slot) => {
      slot.held = true;
      return this.unloadVersion(slot, 'request');
    }));
  }

  status(): VersionStatus[] {
    return [...this.slots.values()].map((slot) => ({
      name: slot.source.name,
      version: slot.source.version,
      kind: kindOf(slot.source.format),
      state: slot.state,
      reason: slot.reason,
      device: slot.model?.device,
      memoryBytes: slot.model?.memoryBytes ?? 0,
      inFlight: slot.refs,
      lastUsed: slot.refs > 0 || slot.state === 'READY' ? slot.lastUsed : undefined,
      keepAliveSeconds: this.keepAliveOf(slot),
      expiresAt: slot.expiresAt,
    }));
  }

  /** A READY version's model and source, without taking a lease or loading anything; else undefined. */
  loadedVersion(name: string, version?: string): { model: LoadedModel; source: ModelVersionSource } | undefined {
    let slot: Slot;
    try {
      slot = this.resolve(name, version);
    } catch {
      return undefined;
    }
    return slot.state === 'READY' && slot.model ? { model: slot.model, source: slot.source } : undefined;
  }

  versionState(name: string, version?: string): { state: VersionState; reason?: string; version: string } {
    const slot = this.resolve(name, version);
    return { state: slot.state, reason: slot.reason, version: slot.source.version };
  }

  /** Bytes held by loaded and loading versions. */
  usedBytes(): number {
    let used = 0;
    for (const slot of this.slots.values()) used += slot.model?.memoryBytes ?? slot.reservedBytes;
    return used;
  }

  /** Stops taking requests, waits for in-flight ones, unloads everything. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.slots.values()].map((slot) => this.unloadVersion(slot, 'shutdown')));
  }

  private resolve(name: string, version?: string): Slot {
    const model = this.getModel(name);
    if (version === undefined || version === '') return this.slot(name, model.defaultVersion);
    assertSafeName(version, 'version');
    if (!model.versions.some((v) => v.version === version)) throw errors.MODEL_VERSION_NOT_FOUND(`model '${name}' has no version '${version}'`);
    return this.slot(name, version);
  }

  private slot(name: string, version: string): Slot {
    const slot = this.slots.get(slotKey(name, version));
    if (!slot) throw errors.MODEL_VERSION_NOT_FOUND(`model '${name}' has no version '${version}'`);
    return slot;
  }

  private async loadVersion(slot: Slot): Promise<LoadedModel> {
    if (slot.state === 'READY' && slot.model) return slot.model;
    if (slot.loading) return slot.loading;
    const { source } = slot;
    const loader = this.options.loaders[source.format];
    const started = Date.now();
    slot.state = 'LOADING';
    slot.loading = (async () => {
      if (!loader) throw errors.MODEL_UNAVAILABLE(`no runtime for ${source.format} models in this build`);
      const estimate = await loader.estimateMemory(source);
      await this.makeRoom(estimate, slot);
      slot.reservedBytes = estimate;
      return loader.load(source, { preferGpu: this.options.preferGpu });
    })();
    try {
      const model = await slot.loading;
      slot.model = model;
      slot.state = 'READY';
      slot.reason = undefined;
      slot.lastUsed = Date.now();
      this.options.metrics.modelLoads.labels(source.name, source.version, 'ok').inc();
      this.options.metrics.modelMemory.labels(source.name, source.version).set(model.memoryBytes);
      this.refreshLoadedGauge();
      this.options.logger.info({ model: source.name, version: source.version, device: model.device, memoryBytes: model.memoryBytes, ms: Date.now() - started }, 'model loaded');
      this.emit('loaded', source);
      this.becameIdle(slot);
      return model;
    } catch (err) {
      const reason = err instanceof ForjaError ? err.message : `load failed: ${(err as Error).message ?? err}`;
      // A memory-budget refusal is transient; anything else marks the version UNAVAILABLE.
      const transient = err instanceof ForjaError && err.code === errors.MODEL_MEMORY_BUDGET.code;
      slot.state = transient ? 'UNLOADED' : 'UNAVAILABLE';
      slot.reason = transient ? undefined : reason;
      this.options.metrics.modelLoads.labels(source.name, source.version, 'error').inc();
      this.options.logger.error({ model: source.name, version: source.version, reason }, 'model load failed');
      throw err instanceof ForjaError ? err : errors.MODEL_UNAVAILABLE(reason, { cause: err });
    } finally {
      slot.loading = undefined;
      slot.reservedBytes = 0;
    }
  }

  /** Evicts idle versions, least recently used first, until `bytes` more fit in the budget. */
  private async makeRoom(bytes: number, forSlot: Slot): Promise<void> {
    const budget = this.options.budgetBytes;
    if (bytes > budget) throw errors.MODEL_MEMORY_BUDGET(`model '${forSlot.source.name}' needs ${mib(bytes)} but the whole memory budget is ${mib(budget)}`);
    while (this.usedBytes() + bytes > budget) {
      const victim = [...this.slots.values()]
        .filter((s) => s !== forSlot && s.state === 'READY' && s.refs === 0)
        .sort((a, b) => a.useTick - b.useTick)[0];
      if (!victim) {
        throw errors.MODEL_MEMORY_BUDGET(`not enough memory budget to load '${forSlot.source.name}': needs ${mib(bytes)}, ${mib(budget - this.usedBytes())} free of ${mib(budget)} and every loaded model is busy`, { headers: { 'retry-after': '1' } });
      }
      this.options.logger.info({ model: victim.source.name, version: victim.source.version, for: forSlot.source.name }, 'evicting idle model');
      await this.unloadVersion(victim, 'evicted');
    }
  }

  private async unloadVersion(slot: Slot, reason: string): Promise<void> {
    if (slot.loading) await slot.loading.catch(() => undefined);
    if (slot.unloading) return slot.unloading;
    if (slot.state !== 'READY' || !slot.model) return;
    this.stopKeepAlive(slot);
    slot.state = 'UNLOADING';
    slot.unloading = (async () => {
      if (slot.refs > 0) await new Promise<void>((resolve) => slot.idleWaiters.push(resolve));
      const model = slot.model!;
      this.emit('unloading', slot.source, model);
      try {
        await model.unload();
      } catch (err) {
        this.options.logger.warn({ model: slot.source.name, err }, 'model unload raised');
      }
      slot.model = undefined;
      slot.state = 'UNLOADED';
      this.options.metrics.modelUnloads.labels(slot.source.name, slot.source.version, reason).inc();
      this.options.metrics.modelMemory.labels(slot.source.name, slot.source.version).set(0);
      this.refreshLoadedGauge();
      this.options.logger.info({ model: slot.source.name, version: slot.source.version, reason }, 'model unloaded');
    })();
    try {
      await slot.unloading;
    } finally {
      slot.unloading = undefined;
    }
  }

  private becameIdle(slot: Slot): void {
    for (const wake of slot.idleWaiters.splice(0)) wake();
    if (slot.state !== 'READY' || this.closed) return;
    const keepAlive = this.keepAliveOf(slot);
    this.stopKeepAlive(slot);
    if (keepAlive < 0) return;
    // A request that asked for 0 is answered with the model already on its way out (not while
    // loading: the request that triggered the load has not taken its reference yet).
    if (keepAlive === 0 && !slot.loading) {
      void this.unloadVersion(slot, 'idle');
      return;
    }
    slot.expiresAt = Date.now() + keepAlive * 1000;
    this.armKeepAlive(slot);
  }

  /** Node fires longer timers at once, so a keep-alive beyond ~24.8 days waits in steps. */
  private armKeepAlive(slot: Slot): void {
    const left = (slot.expiresAt ?? 0) - Date.now();
    slot.keepAliveTimer = setTimeout(() => {
      if (left > MAX_TIMER_MS) this.armKeepAlive(slot);
      else if (slot.refs === 0) void this.unloadVersion(slot, 'idle');
    }, Math.min(Math.max(left, 0), MAX_TIMER_MS));
  }

  private keepAliveOf(slot: Slot): number {
    return slot.requestedKeepAlive ?? slot.source.config.keep_alive ?? this.options.keepAliveSeconds;
  }

  private stopKeepAlive(slot: Slot): void {
    clearTimeout(slot.keepAliveTimer);
    slot.keepAliveTimer = undefined;
    slot.expiresAt = undefined;
  }

  private refreshLoadedGauge(): void {
    let loaded = 0;
    for (const slot of this.slots.values()) if (slot.state === 'READY') loaded++;
    this.options.metrics.modelsLoaded.set(loaded);
  }
}

function newSlot(source: ModelVersionSource, problem?: string): Slot {
  return { source, state: problem ? 'UNAVAILABLE' : 'UNLOADED', reason: problem, reservedBytes: 0, refs: 0, lastUsed: 0, useTick: 0, held: false, idleWaiters: [] };
}

function slotKey(name: string, version: string): string {
  return `${name}\u0000${version}`;
}

function kindOf(format: ModelVersionSource['format']): ModelKind {
  return format === 'onnx' ? 'onnx' : 'llm';
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
