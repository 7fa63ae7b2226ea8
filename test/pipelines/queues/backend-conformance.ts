/**
 * The one behaviour suite every queue backend must pass (SQLite and Redis run the same tests).
 * Each test uses fresh pipeline names so backends that share a server do not see each other's jobs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it, after } from 'node:test';
import { ForjaError } from '../../../src/errors.js';
import { LOG_TRUNCATED_MESSAGE, MAX_LOG_LINES, type Lease, type QueueBackend } from '../../../src/pipelines/queues/backend.js';
import { waitFor } from '../helpers.js';

export interface ConformanceTarget {
  name: string;
  /** A backend over the storage named by `store`; two calls with one store share the jobs. */
  create(store: string): QueueBackend;
  /** When set, the whole suite is skipped with this message. */
  skip?: string;
  /** Removes what the suite stored under these stores (shared servers). */
  cleanup?(stores: string[]): Promise<void>;
}

const LEASE = 300;

export function runBackendConformance(target: ConformanceTarget): void {
  describe(`queue backend conformance: ${target.name}`, { skip: target.skip }, () => {
    const opened: QueueBackend[] = [];
    const stores = new Set<string>();
    after(async () => {
      for (const b of opened) await b.close();
      await target.cleanup?.([...stores]);
    });

    async function open(pipelines: { name: string; concurrency?: number }[], store = randomUUID()): Promise<QueueBackend> {
      stores.add(store);
      const b = target.create(store);
      opened.push(b);
      await b.init(pipelines);
      return b;
    }
    const pname = () => `p-${randomUUID().slice(0, 8)}`;
    const enqueue = (b: QueueBackend, pipeline: string, extra: Record<string, unknown> = {}) =>
      b.enqueue({ id: randomUUID(), pipeline, input: { n: 1 }, ...extra });
    const claimOne = async (b: QueueBackend, pipeline: string, worker = 'w1', leaseMs = LEASE) => {
      const jobs = await b.claim(worker, new Map([[pipeline, 1]]), leaseMs, 1);
      assert.equal(jobs.length, 1, 'expected one job to be claimed');
      return jobs[0];
    };

    it('enqueue stores a queued job that get returns; an unknown id is undefined', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const { job, created } = await enqueue(b, p, { input: { url: 'x' } });
      assert.equal(created, true);
      assert.equal(job.state, 'queued');
      const got = await b.get(job.id);
      assert.deepEqual(got?.input, { url: 'x' });
      assert.equal(got?.pipeline, p);
      assert.equal(got?.attempts, 0);
      assert.equal(await b.get(randomUUID()), undefined);
    });

    it('an idempotency key already used returns the same job', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const first = await enqueue(b, p, { idempotencyKey: 'k1' });
      const again = await enqueue(b, p, { idempotencyKey: 'k1', input: { n: 2 } });
      assert.equal(again.created, false);
      assert.equal(again.job.id, first.job.id);
      assert.deepEqual(again.job.input, { n: 1 }, 'the stored job comes back with its own input, for the caller to compare');
      assert.equal(again.job.idempotencyKey, 'k1');
    });

    it('an enqueue that creates a job answers the job as stored, without reading it back', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const plain = await enqueue(b, p);
      assert.deepEqual(plain.job, await b.get(plain.job.id));
      const full = await b.enqueue({ id: randomUUID(), pipeline: p, input: { a: [1, 'x'] }, inputJson: '{"a":[1,"x"]}', priority: 3, delayMs: 60_000,
        idempotencyKey: 'full', maxDeliveries: 4 });
      assert.equal(full.created, true);
      assert.deepEqual(full.job, await b.get(full.job.id));
      assert.deepEqual(full.job.input, { a: [1, 'x'] });
    });

    it('an idempotency key already used answers its job as it stands now, in each state', async () => {
      const p = pname();
      const b = await open([{ name: p }, { name: `${p}-d` }]);
      const again = async (key: string, pipeline = p) => {
        const r = await enqueue(b, pipeline, { idempotencyKey: key });
        assert.equal(r.created, false);
        assert.deepEqual(r.job, await b.get(r.job.id), `the answer for ${key} is the stored job`);
        return r.job;
      };
      await enqueue(b, p, { idempotencyKey: 'ok' });
      assert.equal((await again('ok')).state, 'queued');
      const running = await claimOne(b, p);
      assert.equal((await again('ok')).state, 'running');
      assert.equal(await b.complete(running, { done: 1 }), true);
      const succeeded = await again('ok');
      assert.equal(succeeded.state, 'succeeded');
      assert.deepEqual(succeeded.result, { done: 1 });

      await enqueue(b, p, { idempotencyKey: 'bad' });
      assert.equal(await b.fail(await claimOne(b, p), { message: 'boom' }), true);
      const failed = await again('bad');
      assert.equal(failed.state, 'failed');
      assert.equal(failed.error?.message, 'boom');

      const later = await enqueue(b, `${p}-d`, { idempotencyKey: 'later', delayMs: 60_000 });
      assert.equal((await again('later', `${p}-d`)).state, 'queued');
      await b.cancel(later.job.id);
      assert.equal((await again('later', `${p}-d`)).state, 'cancelled');
      await enqueue(b, `${p}-d`, { idempotencyKey: 'urgent', priority: 5 });
      assert.equal((await again('urgent', `${p}-d`)).state, 'queued');
    });

    it('one idempotency key yields one job when many submit it at once, over several connections', async () => {
      const p = pname();
      const store = randomUUID();
      const backends = [await open([{ name: p }], store), await open([{ name: p }], store), await open([{ name: p }], store)];
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => enqueue(backends[i % 3], p, { idempotencyKey: 'same' })));
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.equal(new Set(results.map((r) => r.job.id)).size, 1);
      assert.equal((await backends[0].list({ pipeline: p })).jobs.length, 1);
    });

    it('enqueueMany adds every job, honouring idempotency keys, and tells listeners', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const heard: string[] = [];
      const off = b.onEnqueued((pipeline) => heard.push(pipeline));
      const existing = await enqueue(b, p, { idempotencyKey: 'taken' });
      await b.enqueueMany([
        { id: randomUUID(), pipeline: p, input: { n: 1 } },
        { id: randomUUID(), pipeline: p, input: { n: 2 }, priority: 3 },
        { id: randomUUID(), pipeline: p, input: { n: 3 }, idempotencyKey: 'taken' },
      ]);
      off();
      await enqueue(b, p);
      assert.deepEqual(heard, [p, p], 'one signal per enqueue call, none after the listener is removed');
      const jobs = (await b.list({ pipeline: p })).jobs;
      assert.equal(jobs.length, 4);
      assert.equal(jobs.filter((j) => j.idempotencyKey === 'taken').length, 1);
      assert.deepEqual((await b.get(existing.job.id))?.input, { n: 1 });
      const claimed = await b.claim('w1', new Map([[p, 10]]), LEASE, 10);
      assert.equal(claimed.length, 4);
    });

    it('signals listeners when a job becomes claimable by retry or release', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      await enqueue(b, p);
      const heard: string[] = [];
      b.onEnqueued((pipeline) => heard.push(pipeline));
      const lease = await claimOne(b, p);
      await b.release(lease);
      assert.deepEqual(heard, [p]);
      const again = await claimOne(b, p);
      await b.fail(again, { message: 'x' });
      await b.retry(again.jobId);
      assert.deepEqual(heard, [p, p]);
    });

    it('claims lower priority numbers first, then in order of enqueue', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const low = await enqueue(b, p, { priority: 5 });
      const a = await enqueue(b, p, { priority: 1 });
      const c = await enqueue(b, p, { priority: 1 });
      const order: string[] = [];
      for (let i = 0; i < 3; i++) order.push((await claimOne(b, p)).jobId);
      assert.deepEqual(order, [a.job.id, c.job.id, low.job.id]);
    });

    it('a delayed job is not claimed before it is due', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      await enqueue(b, p, { delayMs: 60_000 });
      assert.equal((await b.claim('w1', new Map([[p, 5]]), LEASE, 5)).length, 0);
    });

    it('claim marks the job running, counts the delivery and hands out a token', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const { job } = await enqueue(b, p);
      const leased = await claimOne(b, p);
      assert.equal(leased.jobId, job.id);
      assert.deepEqual(leased.input, { n: 1 });
      assert.equal(leased.attempts, 1);
      assert.equal(leased.fresh, true);
      assert.ok(leased.token.length > 0);
      const got = await b.get(job.id);
      assert.equal(got?.state, 'running');
      assert.ok(got?.startedAt);
    });

    it('honours a pipeline concurrency limit across workers', async () => {
      const p = pname();
      const store = randomUUID();
      const b1 = await open([{ name: p, concurrency: 2 }], store);
      const b2 = await open([{ name: p, concurrency: 2 }], store);
      for (let i = 0; i < 5; i++) await enqueue(b1, p);
      const first = await b1.claim('w1', new Map([[p, 10]]), LEASE * 10, 10);
      assert.equal(first.length, 2);
      assert.equal((await b2.claim('w2', new Map([[p, 10]]), LEASE * 10, 10)).length, 0);
      assert.equal(await b1.complete(first[0], null), true);
      // One slot is free again; either worker may get the job (a backend may fetch it while completing).
      const next = [...await b2.claim('w2', new Map([[p, 10]]), LEASE * 10, 10), ...await b1.claim('w1', new Map([[p, 10]]), LEASE * 10, 10)];
      assert.equal(next.length, 1);
    });

    it('complete stores the result once; a second completion is refused', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const { job } = await enqueue(b, p);
      const lease = await claimOne(b, p);
      assert.equal(await b.complete(lease, { ok: true }), true);
      const got = await b.get(job.id);
      assert.equal(got?.state, 'succeeded');
      assert.deepEqual(got?.result, { ok: true });
      assert.ok(got?.finishedAt);
      assert.equal(await b.complete(lease, { ok: false }), false);
    });

    it('fail stores the error message and stack', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const { job } = await enqueue(b, p);
      const lease = await claimOne(b, p);
      assert.equal(await b.fail(lease, { message: 'boom', name: 'Error', stack: 'Error: boom\n    at x', step: 's1' }), true);
      const got = await b.get(job.id);
      assert.equal(got?.state, 'failed');
      assert.equal(got?.error?.message, 'boom');
      assert.match(got?.error?.stack ?? '', /at x/);
      assert.equal(got?.error?.step, 's1');
    });

    it('re-delivers a job whose lease expired, and fences off the stale worker', async () => {
      const p = pname();
      const store = randomUUID();
      const crashed = await open([{ name: p }], store);
      const other = await open([{ name: p }], store);
      const { job } = await enqueue(crashed, p);
      const stale = await claimOne(crashed, p, 'w1', 100);
      const firstStart = (await crashed.get(job.id))!.startedAt!;
      let fresh: Awaited<ReturnType<typeof claimOne>> | undefined;
      await waitFor(async () => {
        const got = await other.claim('w2', new Map([[p, 1]]), LEASE * 10, 1);
        fresh = got[0];
        return got.length === 1;
      });
      assert.equal(fresh!.jobId, job.id);
      assert.equal(fresh!.attempts, 2);
      assert.equal(fresh!.fresh, false);
      assert.notEqual(fresh!.token, stale.token);
      assert.ok((await other.get(job.id))!.startedAt! > firstStart, 'startedAt is the latest delivery\'s start');
      assert.deepEqual(await crashed.heartbeat([stale], LEASE), ['lost']);
      assert.equal(await crashed.saveStep(stale, { name: 'a', state: 'succeeded', attempts: 1, result: 1 }), false);
      assert.equal(await crashed.complete(stale, 'stale'), false);
      assert.equal(await other.complete(fresh!, 'fresh'), true);
      assert.equal((await other.get(job.id))?.result, 'fresh');
    });

    it('reclaimLeases hands the jobs of a dead owner on at once and leaves live owners alone', async () => {
      const p = pname();
      const store = randomUUID();
      const restarted = await open([{ name: p }], store);
      const survivor = await open([{ name: p }], store);
      const { job: orphan } = await enqueue(restarted, p);
      const { job: kept } = await enqueue(restarted, p);
      const dead = await claimOne(restarted, p, 'node-a|host|boot|1|1', 600_000);
      const alive = await claimOne(survivor, p, 'node-b|host|boot|2|2', 600_000);
      assert.deepEqual([dead.jobId, alive.jobId], [orphan.id, kept.id]);
      assert.equal(await restarted.reclaimLeases([p], (owner) => owner === 'node-a|host|boot|1|1'), 1);
      const again = await claimOne(restarted, p, 'node-a|host|boot|3|3', LEASE * 10);
      assert.equal(again.jobId, orphan.id);
      assert.equal(again.attempts, 2, 'the interrupted delivery counts');
      assert.equal(again.fresh, false);
      assert.equal(await restarted.complete(dead, 'stale'), false, 'the dead owner is fenced off');
      assert.equal(await restarted.complete(again, 'ok'), true);
      assert.equal((await survivor.get(kept.id))?.state, 'running', 'a live owner keeps its job');
      assert.equal(await survivor.complete(alive, 'ok'), true);
      assert.equal(await restarted.reclaimLeases([p], () => true), 0);
    });

    it('heartbeats keep a lease alive', async () => {
      const p = pname();
      const store = randomUUID();
      const owner = await open([{ name: p }], store);
      const thief = await open([{ name: p }], store);
      await enqueue(owner, p);
      const lease = await claimOne(owner, p, 'w1', 200);
      for (let i = 0; i < 4; i++) {
        assert.deepEqual(await owner.heartbeat([lease], 200), ['ok']);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal((await thief.claim('w2', new Map([[p, 1]]), LEASE, 1)).length, 0);
      assert.equal(await owner.complete(lease, null), true);
    });

    it('gives up on a job that lost its worker more than maxDeliveries times', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const { job } = await enqueue(b, p, { maxDeliveries: 1 });
      await claimOne(b, p, 'w1', 50);
      await waitFor(async () => {
        await b.claim('w2', new Map([[p, 1]]), LEASE, 1);
        return (await b.get(job.id))?.state === 'failed';
      });
      assert.match((await b.get(job.id))?.error?.message ?? '', /max deliveries/);
    });

    it('stores steps in order with results, errors and checkpoints', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const { job } = await enqueue(b, p);
      const lease = await claimOne(b, p);
      assert.equal(await b.saveStep(lease, { name: 'fetch', state: 'succeeded', attempts: 2, result: { html: 'x' }, startedAt: 1, finishedAt: 2 }), true);
      assert.equal(await b.saveStep(lease, { name: 'train', state: 'running', attempts: 1, startedAt: 3 }), true);
      assert.equal(await b.saveCheckpoint(lease, 'train', { epoch: 3 }), true);
      assert.equal(await b.saveStep(lease, { name: 'train', state: 'retrying', attempts: 1, error: { message: 'oom' }, checkpoint: { epoch: 3 } }), true);
      const steps = await b.steps(job.id);
      assert.deepEqual(steps.map((s) => s.name), ['fetch', 'train']);
      assert.deepEqual(steps[0].result, { html: 'x' });
      assert.equal(steps[0].attempts, 2);
      assert.equal(steps[1].state, 'retrying');
      assert.deepEqual(steps[1].checkpoint, { epoch: 3 });
      assert.equal(steps[1].error?.message, 'oom');
    });

    it('records progress and logs', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const { job } = await enqueue(b, p);
      const lease = await claimOne(b, p);
      assert.equal(await b.setProgress(lease, 0.5, 'half'), true);
      await b.appendLog(lease, 'hello', { a: 1 });
      await b.appendLog(lease, 'world');
      const got = await b.get(job.id);
      assert.equal(got?.progress, 0.5);
      assert.equal(got?.progressMessage, 'half');
      const logs = await b.logs(job.id);
      assert.deepEqual(logs.map((l) => l.message), ['hello', 'world']);
      assert.deepEqual(logs[0].data, { a: 1 });
      assert.deepEqual((await b.logs(job.id, logs[0].seq)).map((l) => l.message), ['world']);
    });

    it('pages a job\'s log with after and limit, and ends it with a marker at the line limit', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const { job } = await enqueue(b, p);
      const lease = await claimOne(b, p, 'w1', 60_000); // a thousand writes outlast the suite's short lease
      for (let i = 0; i < MAX_LOG_LINES + 5; i++) assert.equal(await b.appendLog(lease, `line ${i}`, i % 2 ? { i } : undefined), true);
      const all = await b.logs(job.id);
      assert.equal(all.length, MAX_LOG_LINES);
      assert.deepEqual(all.slice(0, 3).map((l) => [l.message, l.data]), [['line 0', undefined], ['line 1', { i: 1 }], ['line 2', undefined]]);
      assert.equal(all[MAX_LOG_LINES - 2].message, `line ${MAX_LOG_LINES - 2}`);
      const last = all[MAX_LOG_LINES - 1];
      assert.equal(last.message, LOG_TRUNCATED_MESSAGE);
      assert.equal(last.truncated, true);
      assert.equal(all.filter((l) => l.truncated).length, 1);
      const first = await b.logs(job.id, 0, 10);
      assert.deepEqual(first.map((l) => l.message), all.slice(0, 10).map((l) => l.message));
      const second = await b.logs(job.id, first[9].seq, 10);
      assert.deepEqual(second.map((l) => l.message), all.slice(10, 20).map((l) => l.message));
      assert.deepEqual(await b.logs(job.id, last.seq), []);
      assert.deepEqual(await b.logs(randomUUID()), []);
      assert.equal(await b.complete(lease, null), true);
      assert.equal(await b.appendLog(lease, 'after the end'), false, 'a finished job\'s lease writes no more lines');
    });

    it('cancels a queued job at once and a running job through its worker; finished jobs conflict', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const queued = await enqueue(b, p, { priority: 9 });
      const running = await enqueue(b, p);
      const lease = await claimOne(b, p);
      assert.equal(lease.jobId, running.job.id);
      assert.equal((await b.cancel(queued.job.id)).state, 'cancelled');
      const requested = await b.cancel(running.job.id);
      assert.equal(requested.state, 'running');
      assert.equal(requested.cancelRequested, true);
      assert.deepEqual(await b.heartbeat([lease], LEASE), ['cancel']);
      assert.equal(await b.markCancelled(lease), true);
      assert.equal((await b.get(running.job.id))?.state, 'cancelled');
      await assert.rejects(b.cancel(running.job.id), (e: unknown) => e instanceof ForjaError && e.statusCode === 409);
      await assert.rejects(b.cancel(randomUUID()), (e: unknown) => e instanceof ForjaError && e.statusCode === 404);
      assert.equal((await b.claim('w1', new Map([[p, 5]]), LEASE, 5)).length, 0, 'a cancelled job is never delivered');
    });

    it('retry re-queues a failed job keeping completed steps; other states conflict', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const { job } = await enqueue(b, p);
      const lease = await claimOne(b, p);
      await b.saveStep(lease, { name: 'done', state: 'succeeded', attempts: 1, result: 42 });
      await b.saveStep(lease, { name: 'broken', state: 'failed', attempts: 3, error: { message: 'x' } });
      await b.fail(lease, { message: 'x' });
      await assert.rejects(b.retry(randomUUID()), (e: unknown) => e instanceof ForjaError && e.statusCode === 404);
      const retried = await b.retry(job.id);
      assert.equal(retried.state, 'queued');
      assert.equal(retried.error, undefined);
      await assert.rejects(b.retry(job.id), (e: unknown) => e instanceof ForjaError && e.statusCode === 409);
      const waiting = (await b.steps(job.id)).find((s) => s.name === 'broken');
      assert.equal(waiting?.state, 'retrying', 'until the next delivery starts it, the failed step is not running');
      assert.deepEqual(waiting?.error, { message: 'x' }, 'and it still shows why it failed');
      const again = await claimOne(b, p);
      assert.equal(again.fresh, false);
      const steps = await b.steps(job.id);
      assert.equal(steps.find((s) => s.name === 'done')?.state, 'succeeded');
      assert.equal(steps.find((s) => s.name === 'done')?.result, 42);
      assert.equal(steps.find((s) => s.name === 'broken')?.attempts, 0, 'the failed step gets its tries back');
      await b.complete(again, null);
      await assert.rejects(b.retry(job.id), (e: unknown) => e instanceof ForjaError && e.statusCode === 409);
    });

    it('retry re-queues a cancelled job and keeps its input exactly', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const input = { third: 0.1 + 0.2, big: 2 ** 53 - 1, tiny: 5e-324, text: 'a"},"r":9}', list: [], nested: { empty: {} } };
      const { job } = await enqueue(b, p, { input });
      await b.cancel(job.id);
      assert.equal((await b.counts()).cancelled, 1);
      const retried = await b.retry(job.id);
      assert.equal((await b.counts()).cancelled, 0);
      assert.equal(retried.state, 'queued');
      assert.equal(retried.cancelRequested, false);
      assert.deepEqual((await b.get(job.id))?.input, input);
      const lease = await claimOne(b, p);
      assert.deepEqual(lease.input, input);
      assert.equal(lease.fresh, false);
      assert.equal(await b.complete(lease, null), true);
      assert.equal((await b.get(job.id))?.state, 'succeeded');
    });

    it('release puts a job back at once without counting the delivery', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const { job } = await enqueue(b, p);
      const lease = await claimOne(b, p);
      assert.equal(await b.release(lease), true);
      assert.equal((await b.get(job.id))?.state, 'queued');
      const again = await claimOne(b, p);
      assert.equal(again.jobId, job.id);
      assert.equal(again.attempts, 1);
      assert.equal(await b.complete(lease, null), false, 'the released lease is fenced off');
    });

    it('lists by pipeline and state, newest first, in pages', async () => {
      const p = pname();
      const q = pname();
      const b = await open([{ name: p }, { name: q }]);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await enqueue(b, p)).job.id);
      await enqueue(b, q);
      const lease = await claimOne(b, p);
      const page1 = await b.list({ pipeline: p, limit: 2 });
      assert.equal(page1.jobs.length, 2);
      assert.ok(page1.nextCursor);
      const page2 = await b.list({ pipeline: p, limit: 2, cursor: page1.nextCursor });
      const page3 = await b.list({ pipeline: p, limit: 2, cursor: page2.nextCursor });
      const all = [...page1.jobs, ...page2.jobs, ...page3.jobs].map((j) => j.id);
      assert.deepEqual(all, [...ids].reverse());
      assert.equal(page3.nextCursor, undefined);
      const running = await b.list({ pipeline: p, state: 'running' });
      assert.deepEqual(running.jobs.map((j) => j.id), [lease.jobId]);
      assert.equal((await b.list({ pipeline: q })).jobs.length, 1);
    });

    it('counts jobs by state', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const before = await b.counts();
      await enqueue(b, p);
      const after = await b.counts();
      assert.equal(after.queued, before.queued + 1);
      assert.equal(typeof after.failed, 'number');
    });

    it('counts queued jobs that wait out a delay as delayed, not queued', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const before = await b.counts();
      await enqueue(b, p, { delayMs: 60_000 });
      await enqueue(b, p, { delayMs: 60_000, priority: 3 });
      const after = await b.counts();
      assert.equal(after.delayed, before.delayed + 2);
      assert.equal(after.queued, before.queued);
    });

    it('counts deliveries across retries; each run gets its own max deliveries and its own start', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const { job } = await enqueue(b, p, { maxDeliveries: 1 });
      const first = await claimOne(b, p);
      assert.equal(first.attempts, 1);
      const firstStart = (await b.get(job.id))!.startedAt!;
      await b.fail(first, { message: 'x' });
      const retried = await b.retry(job.id);
      assert.equal(retried.attempts, 1, 'the delivery before the retry still counts');
      assert.equal(retried.startedAt, undefined, 'a retried job has not started its new run');
      await new Promise((r) => setTimeout(r, 5)); // a later millisecond for the second start
      const second = await claimOne(b, p);
      assert.equal(second.attempts, 2);
      const got = (await b.get(job.id))!;
      assert.equal(got.attempts, 2);
      assert.ok(got.startedAt! > firstStart);
      assert.equal(await b.markCancelled(second), true);
      await b.retry(job.id);
      const third = await claimOne(b, p);
      assert.equal(third.attempts, 3, 'one delivery per run: maxDeliveries 1 does not stop a retried job');
      assert.equal(await b.complete(third, 'ok'), true);
      assert.equal((await b.get(job.id))?.attempts, 3);
    });

    it('stores a step that was cancelled', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const { job } = await enqueue(b, p);
      const lease = await claimOne(b, p);
      assert.equal(await b.saveStep(lease, { name: 'long', state: 'cancelled', attempts: 1, startedAt: 1, finishedAt: 2 }), true);
      assert.deepEqual((await b.steps(job.id)).map((s) => [s.state, s.finishedAt]), [['cancelled', 2]]);
    });

    it('grants each schedule tick to exactly one caller, across connections', async () => {
      const store = randomUUID();
      const key = `sched-${randomUUID()}`;
      const b1 = await open([], store);
      const b2 = await open([], store);
      const results = await Promise.all([b1.claimScheduleTick(key, 60_000), b2.claimScheduleTick(key, 60_000)]);
      assert.deepEqual(results.sort(), [false, true]);
      assert.equal(await b1.claimScheduleTick(key, 60_000), false);
      assert.equal(await b2.claimScheduleTick(key, 120_000), true);
      assert.equal(await b1.claimScheduleTick(key, 60_000), false, 'an older tick never fires after a newer one');
    });

    it('sweeps finished jobs past the retention count and age, never unfinished ones', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const finished: string[] = [];
      for (let i = 0; i < 4; i++) {
        const { job } = await enqueue(b, p);
        const lease = await claimOne(b, p);
        await b.saveStep(lease, { name: 's', state: 'succeeded', attempts: 1, result: i });
        await b.appendLog(lease, `job ${i}`);
        await b.complete(lease, i);
        finished.push(job.id);
      }
      const waiting = await enqueue(b, p);
      const removed = await b.sweep(p, { maxAgeMs: 3_600_000, maxCount: 2 });
      assert.equal(removed, 2);
      const left = (await b.list({ pipeline: p })).jobs.map((j) => j.id).sort();
      assert.equal(left.length, 3);
      assert.ok(left.includes(waiting.job.id));
      const removedByAge = await b.sweep(p, { maxAgeMs: 0, maxCount: 100 }, Date.now() + 1000);
      assert.equal(removedByAge, 2);
      assert.deepEqual((await b.list({ pipeline: p })).jobs.map((j) => j.id), [waiting.job.id]);
      for (const id of finished) {
        assert.deepEqual(await b.steps(id), []);
        assert.deepEqual(await b.logs(id), [], 'the log goes with the job');
      }
    });

    it('refuses fenced writes of a lease that was never granted', async () => {
      const p = pname();
      const b = await open([{ name: p }]);
      const { job } = await enqueue(b, p);
      const fake: Lease = { jobId: job.id, pipeline: p, token: 'not-a-token' };
      assert.equal(await b.saveStep(fake, { name: 'x', state: 'succeeded', attempts: 1 }), false);
      assert.equal(await b.complete(fake, null), false);
      assert.equal((await b.get(job.id))?.state, 'queued');
    });
  });
}
