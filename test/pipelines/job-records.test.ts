/**
 * What a job's record says after cancel, retry and resubmission, through a real PipelineService on
 * each queue backend (a SQLite file, and a key prefix on the shared Redis).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { ForjaError } from '../../src/errors.js';
import { definePipeline } from '../../src/pipelines/define.js';
import { MAX_LOG_MESSAGE_CHARS } from '../../src/pipelines/log-line.js';
import { LOG_TRUNCATED_MESSAGE, MAX_LOG_LINES } from '../../src/pipelines/queues/backend.js';
import type { PipelineService, PipelineServiceOptions } from '../../src/pipelines/service.js';
import { tempDir } from './helpers.js';
import { REDIS_URL, deleteRedisPrefix, redisSkipReason } from './redis-available.js';
import { gate, startService, waitForJob } from './service-harness.js';

const redisSkip = await redisSkipReason();

const backends: { name: string; skip?: string; options: () => Partial<PipelineServiceOptions>; cleanup?: (o: Partial<PipelineServiceOptions>) => Promise<void> }[] = [
  { name: 'sqlite', options: () => ({}) },
  {
    name: 'redis', skip: redisSkip,
    options: () => ({ backend: 'redis', redisUrl: REDIS_URL, redisPrefix: `forja-test-records-${randomUUID()}` }),
    cleanup: (o) => deleteRedisPrefix(o.redisPrefix!),
  },
];

for (const backend of backends) {
  describe(`job records on ${backend.name}`, { skip: backend.skip }, () => {
    const started: { service: PipelineService; options: Partial<PipelineServiceOptions> }[] = [];
    after(async () => {
      for (const { service, options } of started) {
        await service.stop({ timeoutMs: 100 });
        await backend.cleanup?.(options);
      }
    });
    const steps = new Map<string, () => void>();
    const flag = path.join(tempDir(), 'fail-while-present');

    /** The lines the service logged, parsed (a real pino logger writing into memory). */
    const logged: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, new Writable({
      write(chunk: Buffer, _enc, done) { for (const line of chunk.toString().split('\n')) if (line) logged.push(JSON.parse(line)); done(); },
    }));

    async function service(): Promise<PipelineService> {
      const options = { ...backend.options(), logger };
      const s = await startService([
        definePipeline({
          name: 'waits',
          async run(_input, ctx) {
            await ctx.step('long', ({ signal }) => new Promise((_resolve, reject) => {
              steps.get(ctx.job.id)?.();
              signal.addEventListener('abort', () => reject(signal.reason));
            }));
          },
        }),
        definePipeline({
          name: 'backs-off',
          retry: { attempts: 3, initialMs: 3_600_000, jitter: false },
          async run(_input, ctx) { await ctx.step('flaky', () => { throw new Error('try again later'); }); },
        }),
        definePipeline({
          name: 'flaky',
          retry: { attempts: 1 },
          async run(_input, ctx) {
            await ctx.step('work', () => { if (existsSync(flag)) throw new Error('flag is set'); return 'ok'; });
            return { attempt: ctx.job.attempt };
          },
        }),
        definePipeline({ name: 'echo', run: (input) => input }),
        definePipeline({
          name: 'chatty',
          async run(_input, ctx) {
            ctx.log('x'.repeat(MAX_LOG_MESSAGE_CHARS + 10));
            const cycle: Record<string, unknown> = {};
            cycle.self = cycle;
            ctx.log('a cycle', cycle);
            await ctx.step('talk', ({ log }) => { for (let i = 0; i < MAX_LOG_LINES + 10; i++) log(`line ${i}`, { i }); });
          },
        }),
        definePipeline({
          name: 'two-steps',
          async run(_input, ctx) {
            await ctx.step('one', () => 1);
            await ctx.step('two', () => { throw new Error('second step broke'); }, { retry: { attempts: 1 } });
          },
        }),
        definePipeline({ name: 'ticks', schedule: '0 0 1 1 *', run: () => null }),
        definePipeline({ name: 'hook', webhook: { allowUnsigned: true }, run: (input) => input }),
      ], options);
      started.push({ service: s, options });
      return s;
    }

    it('stores a job\'s log lines, bounded per line and per job, paged with after and limit', async () => {
      const s = await service();
      const { job } = await s.submit({ pipeline: 'chatty' });
      await waitForJob(s, job.id, ['succeeded']);
      const lines = [];
      let after = 0;
      for (;;) {
        const page = await s.jobLogs(job.id, after, 300);
        if (page.logs.length === 0) break;
        lines.push(...page.logs);
        after = page.nextAfter;
      }
      assert.equal(lines.length, MAX_LOG_LINES);
      assert.match(lines[0].message, /^x+… \(10 more characters not stored\)$/);
      assert.equal(lines[1].message, 'a cycle');
      assert.match(String(lines[1].data), /data not stored: it is not JSON/);
      assert.deepEqual([lines[2].message, lines[2].data], ['line 0', { i: 0 }]);
      assert.equal(lines.at(-1)!.message, LOG_TRUNCATED_MESSAGE);
      assert.equal(lines.at(-1)!.truncated, true);
      await assert.rejects(s.jobLogs('no-such-job'), (e: unknown) => e instanceof ForjaError && e.statusCode === 404);
    });

    it('logs each job\'s lifecycle with its jobId', async () => {
      const s = await service();
      const { job } = await s.submit({ pipeline: 'two-steps' });
      await waitForJob(s, job.id, ['failed']);
      const mine = logged.filter((l) => l.jobId === job.id).map((l) => [l.level, l.msg, l.step ?? null]);
      assert.deepEqual(mine, [
        [30, 'job queued', null], [30, 'job started', null], [30, 'step succeeded', 'one'],
        [40, 'step failed', 'two'], [40, 'job failed', 'two'],
      ]);
      assert.equal(logged.find((l) => l.jobId === job.id && l.msg === 'job failed')?.error, 'second step broke');
    });

    it('a cancelled job\'s running step ends cancelled, with a finish time', async () => {
      const s = await service();
      const running = gate();
      const { job } = await s.submit({ pipeline: 'waits' });
      steps.set(job.id, running.open);
      await running.promise;
      await s.cancel(job.id);
      await waitForJob(s, job.id, ['cancelled']);
      assert.deepEqual(logged.filter((l) => l.jobId === job.id).map((l) => l.msg).slice(-2), ['step cancelled', 'job cancelled']);
      const view = await s.get(job.id);
      assert.deepEqual(view.steps?.map((st) => st.state), ['cancelled']);
      assert.ok(view.steps?.[0].finishedAt, 'the step has a finish time');
      assert.equal(typeof view.steps?.[0].durationMs, 'number');
    });

    it('a job cancelled while its step waits out a retry backoff ends with the step cancelled', async () => {
      const s = await service();
      const { job } = await s.submit({ pipeline: 'backs-off' });
      await new Promise<void>((resolve) => {
        const off = s.subscribe(job.id, (e) => { if (e.type === 'step:retry') { off(); resolve(); } });
      });
      await s.cancel(job.id);
      await waitForJob(s, job.id, ['cancelled']);
      assert.deepEqual((await s.get(job.id)).steps?.map((st) => [st.name, st.state]), [['flaky', 'cancelled']]);
    });

    it('a retried job counts every delivery and times its latest run', async () => {
      const s = await service();
      writeFileSync(flag, '');
      const { job } = await s.submit({ pipeline: 'flaky' });
      const failed = await waitForJob(s, job.id, ['failed']);
      assert.equal(failed.attempts, 1);
      unlinkSync(flag);
      const retriedAt = Date.now();
      const queued = await s.retry(job.id);
      assert.equal(queued.attempts, 1, 'the first delivery still counts while the job waits again');
      assert.equal(queued.durationMs, undefined, 'no duration before the new run starts');
      const done = await waitForJob(s, job.id, ['succeeded']);
      assert.equal(done.attempts, 2);
      assert.deepEqual(done.result, { attempt: 2 }, 'ctx.job.attempt counts the deliveries across the retry');
      assert.ok(Date.parse(done.startedAt!) >= retriedAt, 'startedAt is the latest run\'s start');
      assert.equal(done.durationMs, Date.parse(done.finishedAt!) - Date.parse(done.startedAt!));
    });

    it('an idempotency key reused with another input is a conflict naming the first job; the same input is a duplicate', async () => {
      const s = await service();
      const first = await s.submit({ pipeline: 'echo', input: { a: 1, b: [1, 2] }, idempotencyKey: 'k' });
      const same = await s.submit({ pipeline: 'echo', input: { b: [1, 2], a: 1 }, idempotencyKey: 'k' });
      assert.equal(same.created, false);
      assert.equal(same.job.id, first.job.id);
      await assert.rejects(s.submit({ pipeline: 'echo', input: { a: 2 }, idempotencyKey: 'k' }), (err: unknown) =>
        err instanceof ForjaError && err.code === 'FORJA_ERR_JOB_IDEMPOTENCY_CONFLICT' && err.details?.job_id === first.job.id);
    });

    it('idempotency keys from the API cannot take a webhook delivery\'s or a schedule tick\'s', async () => {
      const s = await service();
      const tickAt = Date.UTC(2026, 0, 1, 0, 0);
      const squatTick = await s.submit({ pipeline: 'ticks', input: {}, idempotencyKey: `schedule:${new Date(tickAt).toISOString()}` });
      assert.equal(squatTick.job.idempotencyKey, `api:schedule:${new Date(tickAt).toISOString()}`);
      assert.deepEqual(await s.fireSchedules(tickAt), ['ticks']);
      assert.equal((await s.list({ pipeline: 'ticks' })).jobs.length, 2, 'the tick made its own job');

      const squatDelivery = await s.submit({ pipeline: 'hook', input: { a: 1 }, idempotencyKey: 'delivery:d-1' });
      const delivered = await s.receiveWebhook('hook', Buffer.from('{"a":1}'), { 'x-github-delivery': 'd-1' });
      assert.equal(delivered.created, true);
      assert.notEqual(delivered.job.id, squatDelivery.job.id);
      const redelivered = await s.receiveWebhook('hook', Buffer.from('{"a":1}'), { 'x-github-delivery': 'd-1' });
      assert.equal(redelivered.created, false);
      assert.equal(redelivered.job.id, delivered.job.id);
    });
  });
}
