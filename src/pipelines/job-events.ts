/**
 * In-process event bus of job activity (namespaced like `job:state`, `step:retry`), feeding the SSE
 * endpoint and logs. Per-job channels are only emitted to when someone listens, so the hot path of
 * no-op jobs pays a counter check and one listenerCount.
 */
import { EventEmitter } from 'node:events';
import type { JobError, JobState } from './queues/backend.js';

export type JobEvent =
  | { type: 'job:state'; jobId: string; pipeline: string; state: JobState; at: number; error?: JobError; attempt?: number }
  | { type: 'step:start'; jobId: string; step: string; attempt: number; at: number }
  | { type: 'step:succeeded'; jobId: string; step: string; attempt: number; at: number; durationMs: number }
  | { type: 'step:replayed'; jobId: string; step: string; at: number }
  | { type: 'step:retry'; jobId: string; step: string; attempt: number; delayMs: number; error: JobError; at: number }
  | { type: 'step:failed'; jobId: string; step: string; attempt: number; error: JobError; at: number }
  | { type: 'step:cancelled'; jobId: string; step: string; attempt: number; at: number }
  | { type: 'step:checkpoint'; jobId: string; step: string; at: number }
  | { type: 'progress'; jobId: string; progress: number; message?: string; at: number }
  | { type: 'log'; jobId: string; message: string; data?: unknown; at: number };

export class JobEvents {
  private readonly emitter = new EventEmitter();
  /** Listeners on single jobs: while there are none, an event is not even given its channel name. */
  private perJob = 0;

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  emit(event: JobEvent): void {
    if (this.perJob > 0) {
      const channel = `job:${event.jobId}`;
      if (this.emitter.listenerCount(channel) > 0) this.emitter.emit(channel, event);
    }
    if (this.emitter.listenerCount('*') > 0) this.emitter.emit('*', event);
  }

  /** Listens to one job's events (or '*' for all); returns the unsubscribe function. */
  subscribe(jobId: string | '*', listener: (event: JobEvent) => void): () => void {
    const channel = jobId === '*' ? '*' : `job:${jobId}`;
    this.emitter.on(channel, listener);
    if (jobId !== '*') this.perJob++;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.emitter.off(channel, listener);
      if (jobId !== '*') this.perJob--;
    };
  }
}
