/** The API's view of a job: a step left running by a worker that died shows the job's end. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { toJobView } from '../../src/pipelines/job-view.js';
import type { JobRecord, StepRecord } from '../../src/pipelines/queues/backend.js';

const job = (state: JobRecord['state'], finishedAt?: number): JobRecord => ({
  id: 'j', pipeline: 'p', state, input: {}, priority: 0, attempts: 1, maxDeliveries: 10, createdAt: 0, runAt: 0,
  startedAt: 10, finishedAt, cancelRequested: state === 'cancelled',
});
const steps: StepRecord[] = [
  { name: 'done', state: 'succeeded', attempts: 1, startedAt: 10, finishedAt: 20 },
  { name: 'cut-off', state: 'running', attempts: 1, startedAt: 20 },
  { name: 'waiting', state: 'retrying', attempts: 2, startedAt: 20, finishedAt: 25 },
];

it('a cancelled or failed job shows no step running, and a running job shows its steps as stored', () => {
  const cancelled = toJobView(job('cancelled', 100), steps).steps!;
  assert.deepEqual(cancelled.map((s) => [s.name, s.state, s.durationMs]), [['done', 'succeeded', 10], ['cut-off', 'cancelled', 80], ['waiting', 'cancelled', 5]]);
  const failed = toJobView(job('failed', 100), steps).steps!;
  assert.deepEqual(failed.map((s) => s.state), ['succeeded', 'failed', 'failed']);
  const running = toJobView(job('running'), steps).steps!;
  assert.deepEqual(running.map((s) => s.state), ['succeeded', 'running', 'retrying']);
});
