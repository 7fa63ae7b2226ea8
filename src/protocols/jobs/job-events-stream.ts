/**
 * GET /api/jobs/{id}/events: Server-Sent Events for one job. It starts with a `snapshot` (the job as
 * GET returns it), then sends step events, state changes, progress and logs as they happen. Events
 * from a worker in this process arrive at once; changes made by workers elsewhere (other processes,
 * other machines on Redis) are found by a light poll. The stream ends after the job finishes, and
 * when the server starts draining for shutdown (the client reconnects, to another replica).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { openSse } from '../../http/sse.js';
import type { JobEvent } from '../../pipelines/job-events.js';
import { toLogView } from '../../pipelines/job-view.js';
import type { PipelineService } from '../../pipelines/service.js';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

export interface EventStreamOptions {
  pollMs?: number;
  keepAliveMs?: number;
}

export async function streamJobEvents(service: PipelineService, id: string, request: FastifyRequest, reply: FastifyReply, options: EventStreamOptions = {}): Promise<void> {
  const snapshot = await service.get(id); // 404 before any byte is sent
  // Ends when the server drains, like any stream that would otherwise only end with its client.
  const stream = openSse(request, reply, { heartbeatMs: options.keepAliveMs ?? 15_000, endOnDrain: true });
  const send = (event: string, data: unknown) => stream.send({ event, data });
  let lastState = snapshot.state;
  let lastProgress = snapshot.progress;
  let lastLogSeq = 0;
  send('snapshot', snapshot);

  const finish = () => stream.end();
  const pollLogs = async () => {
    for (const entry of await service.logs(id, lastLogSeq)) {
      lastLogSeq = entry.seq;
      send('log', toLogView(entry));
    }
  };
  const onState = async (state: string, error?: unknown) => {
    if (state === lastState) return;
    lastState = state;
    send('state', { state, error });
    if (FINISHED.has(state)) {
      await pollLogs();
      const final = await service.get(id).catch(() => undefined);
      if (final) send('done', final);
      finish();
    }
  };
  const unsubscribe = service.subscribe(id, (event: JobEvent) => {
    if (event.type === 'job:state') void onState(event.state, event.error);
    else if (event.type === 'progress') { lastProgress = event.progress; send('progress', event); }
    else if (event.type === 'log') void pollLogs();
    else send(event.type.replace(':', '.'), event);
  });
  const poll = setInterval(() => {
    void (async () => {
      const job = await service.get(id).catch(() => undefined);
      if (!job || stream.closed) return finish();
      if (job.progress !== lastProgress) { lastProgress = job.progress; send('progress', { jobId: id, progress: job.progress, message: job.progressMessage }); }
      await pollLogs();
      await onState(job.state, job.error);
    })().catch(() => finish());
  }, options.pollMs ?? 500);
  stream.onClose(() => {
    unsubscribe();
    clearInterval(poll);
  });
  await pollLogs();
  if (FINISHED.has(snapshot.state)) {
    send('done', snapshot);
    finish();
  }
}
