/**
 * The server's log lines about jobs, one per lifecycle event, each with `jobId` (docs/operations.md):
 * queued, started, step succeeded / retrying / failed / cancelled, succeeded, failed, cancelled.
 * They come from the in-process event bus, so each process logs what its own API and worker did.
 * Info level, failures at warn; `log.level: warn` keeps only the failures.
 */
import type { Logger } from 'pino';
import type { JobEvent, JobEvents } from './job-events.js';

function logEvent(logger: Logger, e: JobEvent): void {
  switch (e.type) {
    case 'job:state':
      if (e.state === 'failed') logger.warn({ jobId: e.jobId, pipeline: e.pipeline, error: e.error?.message, step: e.error?.step }, 'job failed');
      else if (e.state === 'running') logger.info({ jobId: e.jobId, pipeline: e.pipeline, attempt: e.attempt }, 'job started');
      else logger.info({ jobId: e.jobId, pipeline: e.pipeline }, `job ${e.state}`);
      return;
    case 'step:succeeded':
      logger.info({ jobId: e.jobId, step: e.step, attempt: e.attempt, durationMs: e.durationMs }, 'step succeeded');
      return;
    case 'step:retry':
      logger.warn({ jobId: e.jobId, step: e.step, attempt: e.attempt, delayMs: e.delayMs, error: e.error.message }, 'step failed; retrying');
      return;
    case 'step:failed':
      logger.warn({ jobId: e.jobId, step: e.step, attempt: e.attempt, error: e.error.message }, 'step failed');
      return;
    case 'step:cancelled':
      logger.info({ jobId: e.jobId, step: e.step, attempt: e.attempt }, 'step cancelled');
      return;
    case 'step:start':
      logger.debug({ jobId: e.jobId, step: e.step, attempt: e.attempt }, 'step started');
      return;
    default:
      // progress, logs, checkpoints and replays are the job's own detail: the API and SSE carry them.
  }
}

/** Logs every job event of this process; returns the function that stops it. */
export function logJobLifecycle(events: JobEvents, logger: Logger): () => void {
  return events.subscribe('*', (e) => logEvent(logger, e));
}
