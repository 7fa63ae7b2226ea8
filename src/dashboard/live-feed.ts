/**
 * Fans snapshots out to every open dashboard: one timer per server samples once a second while at
 * least one page watches, and a change (a job event, a model loaded or unloaded) triggers an early
 * sample so the page reacts without waiting for the tick. Nothing runs while nobody watches.
 */
import type { ModelManager } from '../inference/model-manager.js';
import type { PipelineService } from '../pipelines/service.js';
import type { SnapshotBuilder } from './snapshot.js';
import type { DashboardSnapshot } from './snapshot-types.js';

export type Watcher = (snapshot: DashboardSnapshot) => void;

export interface LiveFeedOptions {
  builder: SnapshotBuilder;
  manager: ModelManager;
  pipelines: () => PipelineService | undefined;
  intervalMs?: number;
  /** A burst of events becomes one sample after this delay. */
  changeDelayMs?: number;
  onError?: (err: unknown) => void;
}

export class LiveFeed {
  private readonly watchers = new Set<Watcher>();
  private timer: NodeJS.Timeout | undefined;
  private changeTimer: NodeJS.Timeout | undefined;
  private building = false;
  private again = false;
  private stopListening: (() => void) | undefined;
  latest: DashboardSnapshot | undefined;

  constructor(private readonly options: LiveFeedOptions) {}

  /** Adds a watcher; it gets the latest snapshot at once (if any) and every one after. */
  watch(watcher: Watcher): () => void {
    this.watchers.add(watcher);
    if (this.latest) watcher(this.latest);
    if (this.watchers.size === 1) this.startTimers();
    this.sampleSoon();
    return () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) this.stopTimers();
    };
  }

  /** Builds a snapshot now (shared with the watchers, so the rates stay consistent). */
  async sample(): Promise<DashboardSnapshot> {
    const snapshot = await this.options.builder.build();
    this.latest = snapshot;
    for (const w of this.watchers) w(snapshot);
    return snapshot;
  }

  close(): void {
    this.watchers.clear();
    this.stopTimers();
  }

  private tick(): void {
    // One build at a time; a tick that lands during a build asks for one more right after.
    if (this.building) { this.again = true; return; }
    this.building = true;
    this.sample().catch((err) => this.options.onError?.(err)).finally(() => {
      this.building = false;
      if (this.again && this.watchers.size > 0) { this.again = false; this.tick(); }
    });
  }

  private sampleSoon(): void {
    if (this.changeTimer) return;
    this.changeTimer = setTimeout(() => { this.changeTimer = undefined; this.tick(); }, this.options.changeDelayMs ?? 50);
  }

  private startTimers(): void {
    this.timer = setInterval(() => this.tick(), this.options.intervalMs ?? 1000);
    const onChange = () => this.sampleSoon();
    const { manager } = this.options;
    manager.on('loaded', onChange);
    manager.on('unloading', onChange);
    // Job events (state changes, steps) move the jobs panel; progress and logs alone do not.
    const service = this.options.pipelines();
    const unsubscribe = service ? service.subscribe('*', (e) => { if (e.type !== 'log' && e.type !== 'progress') onChange(); }) : undefined;
    this.stopListening = () => {
      manager.off('loaded', onChange);
      manager.off('unloading', onChange);
      unsubscribe?.();
    };
  }

  private stopTimers(): void {
    clearInterval(this.timer);
    clearTimeout(this.changeTimer);
    this.timer = undefined;
    this.changeTimer = undefined;
    this.stopListening?.();
    this.stopListening = undefined;
  }
}
