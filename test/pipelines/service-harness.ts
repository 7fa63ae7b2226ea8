/** Starts real PipelineServices (real SQLite file or Redis) for tests, and waits on job events. */
import { Registry } from 'prom-client';
import type { PipelineDefinition } from '../../src/pipelines/define.js';
import type { JobView } from '../../src/pipelines/job-view.js';
import { PipelineService, type PipelineServiceOptions } from '../../src/pipelines/service.js';
import type { JobState } from '../../src/pipelines/queues/backend.js';
import { silentLogger, tempDir } from './helpers.js';

export async function startService(pipelines: PipelineDefinition<any, any>[], options: Partial<PipelineServiceOptions> = {}): Promise<PipelineService> {  
  const service = new PipelineService({
    dataDir: tempDir(), registry: new Registry(), logger: silentLogger, pipelines, sweepIntervalMs: 0,
    ...options,
    worker: { leaseMs: 2000, pollMs: 50, ...options.worker },
  });
  await service.start();
  return service;
}

/** Resolves with the job once it reaches one of `states` (job:state events, then a read to confirm). */
export function waitForJob(service: PipelineService, id: string, states: JobState[] = ['succeeded', 'failed', 'cancelled'], timeoutMs = 15_000): Promise<JobView> {
  return new Promise((resolve, reject) => {
    let done = false;
    const check = async () => {
      if (done) return;
      const job = await service.get(id).catch(() => undefined);
      if (job && states.includes(job.state as JobState) && !done) {
        done = true;
        cleanup();
        resolve(job);
      }
    };
    const unsubscribe = service.subscribe(id, (e) => { if (e.type === 'job:state') void check(); });
    // Other processes' workers emit no local events: a slow poll covers them.
    const poll = setInterval(() => void check(), 100);
    const timer = setTimeout(() => { cleanup(); reject(new Error(`job ${id} did not reach ${states.join('|')} in ${timeoutMs} ms`)); }, timeoutMs);
    const cleanup = () => { unsubscribe(); clearInterval(poll); clearTimeout(timer); };
    void check();
  });
}

/** A promise with its resolve function, for steps that wait on the test. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => { open = resolve; });
  return { promise, open };
}
