/** Maps a BullMQ job hash (plus Forja's extra fields) and BullMQ state to a Forja JobRecord. */
import type { JobError, JobRecord, JobState } from '../backend.js';

/** What Forja stores as BullMQ job data: input, max deliveries, idempotency key, retries by hand. */
export interface JobData {
  i: unknown;
  m: number;
  k?: string;
  r?: number;
}

/** The text of JSON.stringify({ i, m, k }) for an input already in JSON text (the retry script edits this text). */
export function jobDataText(inputJson: string, maxDeliveries: number, idempotencyKey: string | undefined): string {
  return `{"i":${inputJson},"m":${maxDeliveries}${idempotencyKey === undefined ? '' : `,"k":${JSON.stringify(idempotencyKey)}`}}`;
}

export function mapState(bullState: string, raw: Record<string, string>): JobState | undefined {
  switch (bullState) {
    case 'waiting': case 'prioritized': case 'delayed': case 'waiting-children': case 'paused': return 'queued';
    case 'active': return 'running';
    case 'completed': return 'succeeded';
    case 'failed': return raw.fstate === 'cancelled' ? 'cancelled' : 'failed';
    default: return undefined;
  }
}

export function rawToJob(id: string, pipeline: string, raw: Record<string, string>, bullState: string): JobRecord | undefined {
  if (!raw || raw.data === undefined) return undefined;
  const state = mapState(bullState, raw);
  if (!state) return undefined;
  const data = JSON.parse(raw.data) as JobData;
  const createdAt = Number(raw.timestamp);
  const job: JobRecord = {
    id, pipeline, state, input: data.i, priority: Number(raw.priority ?? 0), attempts: Number(raw.ats ?? 0) + Number(raw.fats ?? 0), maxDeliveries: data.m,
    createdAt, runAt: createdAt + Number(raw.delay ?? 0), cancelRequested: raw.fcancel === '1',
  };
  if (data.k !== undefined) job.idempotencyKey = data.k;
  if (raw.processedOn) job.startedAt = Number(raw.processedOn);
  if (raw.finishedOn) job.finishedAt = Number(raw.finishedOn);
  if (raw.progress !== undefined && raw.progress !== '0' && raw.progress !== '') {
    const p = JSON.parse(raw.progress);
    if (typeof p === 'number') job.progress = p;
  }
  if (raw.fpmsg) job.progressMessage = raw.fpmsg;
  if (state === 'succeeded' && raw.returnvalue !== undefined) job.result = JSON.parse(raw.returnvalue);
  if (state === 'failed') {
    if (raw.ferr) job.error = JSON.parse(raw.ferr) as JobError;
    else if (raw.failedReason) job.error = { message: raw.failedReason };
  }
  return job;
}
