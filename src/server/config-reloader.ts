/**
 * Reloads the configuration of a running server when its file changes or on SIGHUP (serve.ts
 * installs the signal handler and calls reload()).
 *
 * A reload loads and validates the whole config again (file, overlay, env, flags), then:
 *  - invalid → rejected: the reason is logged and the running config stays;
 *  - changed keys that can be applied live (config/reload.ts lists them, plus keys claimed by
 *    handlers registered here) are applied in place: the log level, batching and timeout
 *    defaults, keep-alive. Nothing is closed or rebuilt, so requests in flight are not disturbed;
 *  - changed keys fixed at start (port, directories…) are reported as needing a restart.
 * Counted in forja_config_reloads_total{result}. After each reload that applied something the
 * reloader emits 'config' (ConfigChange) so other parts, such as the security plugin, can follow.
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { Counter } from 'prom-client';
import type { ForjaConfig } from '../config/schema.js';
import { classifyChanges, diffConfigs, matchesKey, RELOADABLE_KEYS, runningConfig } from '../config/reload.js';
import type { ForjaServer } from './app.js';

export type ReloadResult = 'applied' | 'rejected' | 'restart_required' | 'unchanged';

export interface ReloadOutcome {
  result: ReloadResult;
  trigger: string;
  /** Keys applied live. */
  applied: string[];
  /** Keys that changed but take effect only after a restart. */
  restartRequired: string[];
  /** Why a new config was rejected. */
  reason?: string;
}

export interface ConfigChange {
  config: Readonly<ForjaConfig>;
  previous: Readonly<ForjaConfig>;
  /** The keys applied by this reload. */
  changed: string[];
}

/** Applies the keys under a claimed prefix; throwing rejects nothing already applied but is logged. */
export type ReloadHandler = (change: ConfigChange) => void;

export interface ConfigReloaderOptions {
  server: Pick<ForjaServer, 'config' | 'logger' | 'inference' | 'manager' | 'registry'>;
  /** Builds and validates the config again; throws when it is invalid. */
  load: () => Readonly<ForjaConfig>;
  /** Files to watch (the config file and its overlay). */
  files: string[];
  /** File events closer together than this trigger one reload (editors write in several steps). */
  debounceMs?: number;
}

export class ConfigReloader extends EventEmitter {
  private current: Readonly<ForjaConfig>;
  private readonly watchers: FSWatcher[] = [];
  private readonly handlers: Array<{ pattern: string; apply: ReloadHandler }> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly counter: Counter<'result'>;

  constructor(private readonly options: ConfigReloaderOptions) {
    super();
    this.current = options.server.config;
    const registry = options.server.registry;
    const name = 'forja_config_reloads_total';
    this.counter = (registry.getSingleMetric(name) as Counter<'result'> | undefined) ?? new Counter({
      name,
      help: 'Configuration reloads by result (applied, rejected, restart_required, unchanged).',
      labelNames: ['result'],
      registers: [registry],
    });
    for (const result of ['applied', 'rejected', 'restart_required', 'unchanged'] as const) this.counter.labels(result).inc(0);
  }

  /** The config the process runs now. */
  get config(): Readonly<ForjaConfig> {
    return this.current;
  }

  /**
   * Claims keys for a part of the server that can apply them live, e.g. `security.*` for the
   * security plugin: from now on a change to them is applied through `apply` instead of being
   * reported as needing a restart.
   */
  register(pattern: string, apply: ReloadHandler): void {
    this.handlers.push({ pattern, apply });
  }

  /** Watches the directory of each file (editors often replace a file rather than write into it). */
  watch(): void {
    const byDir = new Map<string, Set<string>>();
    for (const file of this.options.files) {
      const dir = path.dirname(path.resolve(file));
      if (!byDir.has(dir)) byDir.set(dir, new Set());
      byDir.get(dir)!.add(path.basename(file));
    }
    for (const [dir, names] of byDir) {
      const watcher = watch(dir, { persistent: false }, (_event, filename) => {
        if (filename && !names.has(filename.toString())) return;
        this.schedule('file');
      });
      watcher.on('error', (err) => this.options.server.logger.warn({ err, dir }, 'config watch failed; SIGHUP still reloads'));
      this.watchers.push(watcher);
    }
  }

  private schedule(trigger: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reload(trigger), this.options.debounceMs ?? 150);
    this.timer.unref();
  }

  reload(trigger = 'manual'): ReloadOutcome {
    const logger = this.options.server.logger;
    let next: Readonly<ForjaConfig>;
    try {
      next = this.options.load();
    } catch (err) {
      const reason = (err as Error).message;
      this.counter.labels('rejected').inc();
      logger.error({ trigger, reason }, 'config reload rejected; the running config stays');
      return this.finish({ result: 'rejected', trigger, applied: [], restartRequired: [], reason });
    }

    const previous = this.current;
    const changed = diffConfigs(previous, next);
    const reloadable = [...RELOADABLE_KEYS, ...this.handlers.map((h) => h.pattern)];
    const { reloadable: applied, restartRequired } = classifyChanges(changed, reloadable);
    if (changed.length === 0) {
      this.counter.labels('unchanged').inc();
      logger.info({ trigger }, 'config reloaded: no change');
      return this.finish({ result: 'unchanged', trigger, applied, restartRequired });
    }

    this.current = runningConfig(previous, next, restartRequired);
    this.apply(previous, this.current, applied);
    const result: ReloadResult = restartRequired.length > 0 ? 'restart_required' : 'applied';
    this.counter.labels(result).inc();
    if (applied.length > 0) logger.info({ trigger, applied }, 'config reloaded');
    if (restartRequired.length > 0) logger.warn({ trigger, restartRequired }, 'config change needs a restart to take effect; the running values stay until then');
    return this.finish({ result, trigger, applied, restartRequired });
  }

  private apply(previous: Readonly<ForjaConfig>, config: Readonly<ForjaConfig>, applied: string[]): void {
    if (applied.length === 0) return;
    const { server } = this.options;
    const has = (key: string) => applied.includes(key);
    // The level first, so the lines below are logged (or not) at the new level.
    if (has('log.level')) server.logger.level = config.log.level;
    const m = config.models;
    if (['models.max_batch_size', 'models.max_queue_delay_ms', 'models.max_queue_size', 'models.timeout_ms'].some(has)) {
      server.inference.setDefaults({ maxBatchSize: m.max_batch_size, maxQueueDelayMs: m.max_queue_delay_ms, maxQueueSize: m.max_queue_size, instances: m.instances, timeoutMs: m.timeout_ms });
    }
    if (has('models.keep_alive')) server.manager.setKeepAlive(m.keep_alive);
    const change: ConfigChange = { config, previous, changed: applied };
    for (const handler of this.handlers) {
      if (!applied.some((key) => matchesKey(handler.pattern, key))) continue;
      try {
        handler.apply(change);
      } catch (err) {
        server.logger.error({ err, keys: handler.pattern }, 'applying reloaded config failed');
      }
    }
    this.emit('config', change);
  }

  private finish(outcome: ReloadOutcome): ReloadOutcome {
    this.emit('reload', outcome);
    return outcome;
  }

  close(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers.length = 0;
  }
}
