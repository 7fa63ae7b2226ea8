/** Removes finished jobs past each pipeline's retention (age and count) on an interval. */
import type { Logger } from 'pino';
import type { LoadedPipeline } from './pipeline-loader.js';
import type { QueueBackend, RetentionPolicy } from './queues/backend.js';

export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = Object.freeze({ maxAgeMs: 7 * 24 * 3600_000, maxCount: 10_000 });

export function retentionOf(p: LoadedPipeline): RetentionPolicy {
  return {
    maxAgeMs: p.definition.retention?.maxAgeMs ?? DEFAULT_RETENTION.maxAgeMs,
    maxCount: p.definition.retention?.maxCount ?? DEFAULT_RETENTION.maxCount,
  };
}

export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly backend: QueueBackend, private readonly pipelines: LoadedPipeline[], private readonly logger?: Logger) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.sweepOnce(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass over every pipeline; returns how many jobs were removed. */
  async sweepOnce(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const p of this.pipelines) {
      try {
        removed += await this.backend.sweep(p.name, retentionOf(p), now);
      } catch (err) {
        this.logger?.warn({ err, pipeline: p.name }, 'retention sweep failed');
      }
    }
    if (removed > 0) this.logger?.debug({ removed }, 'retention sweep removed finished jobs');
    return removed;
  }
}
