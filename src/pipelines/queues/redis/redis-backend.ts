/**
 * The Redis backend for many machines: one BullMQ queue per pipeline does the queueing (priorities,
 * delays, global concurrency, locks, stalled-job recovery); Forja keeps steps, checkpoints, logs,
 * cancellation and its list index in its own keys, written by the scripts in redis-scripts.ts.
 * BullMQ's lock token is the fencing token. Jobs are claimed with BullMQ's manual-processing API
 * (Worker.getNextJob), so Forja's worker drives both backends the same way.
 *
 * State mapping: wait/prioritized/delayed → queued; active → running; completed → succeeded;
 * failed → failed, or cancelled when marked so (`fstate`). Deliveries = BullMQ's attemptsStarted.
 */
import { EventEmitter } from 'node:events';
import { Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { errors } from '../../../errors.js';
import {
  JOB_STATES, type EnqueueRequest, type JobError, type JobPage, type JobRecord, type JobState, type Lease, type LeasedJob,
  type LeaseStatus, type ListFilter, type LogEntry, type QueueBackend, type RetentionPolicy, type StepRecord,
} from '../backend.js';
import { RedisKeys } from './redis-keys.js';
import { defineScripts, type ScriptedRedis } from './redis-scripts.js';
import { rawToJob, type JobData } from './redis-job-mapping.js';

export interface RedisBackendOptions {
  url: string;
  prefix?: string;
  logger?: Logger;
}

const DEFAULT_MAX_DELIVERIES = 10;

export class RedisBackend extends EventEmitter implements QueueBackend {
  readonly kind = 'redis' as const;
  readonly keys: RedisKeys;
  private client!: ScriptedRedis;
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Map<string, Worker>();
  private readonly leased = new Map<string, Job>();
  /** Jobs BullMQ handed over while completing another (fetchNext), waiting for the next claim. */
  private readonly prefetched = new Map<string, Job[]>();
  private closing = false;
  private tokenSeq = 0;

  constructor(private readonly options: RedisBackendOptions) {
    super();
    this.keys = new RedisKeys(options.prefix ?? 'forja');
  }

  async init(pipelines: { name: string; concurrency?: number }[]): Promise<void> {
    if (!this.client) {
      // maxRetriesPerRequest null: commands wait for a reconnect instead of failing (Redis restarts).
      const client = new Redis(this.options.url, { maxRetriesPerRequest: null, lazyConnect: true });
      client.on('error', (err) => this.options.logger?.warn({ err: err.message }, 'redis connection error'));
      await client.connect();
      this.client = defineScripts(client);
    }
    for (const p of pipelines) {
      const queue = this.queue(p.name);
      if (p.concurrency !== undefined) await queue.setGlobalConcurrency(p.concurrency);
      else await queue.removeGlobalConcurrency();
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    // Prefetched jobs were never started: hand them back.
    for (const [pipeline, jobs] of this.prefetched) {
      for (const job of jobs) {
        this.leased.set(job.id!, job);
        await this.release({ jobId: job.id!, pipeline, token: job.token! }, false);
      }
    }
    this.prefetched.clear();
    await Promise.all([...this.workers.values()].map((w) => w.close(true)));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.workers.clear();
    this.queues.clear();
    await this.client?.quit().catch(() => undefined);
  }

  async enqueue(req: EnqueueRequest): Promise<{ job: JobRecord; created: boolean }> {
    const queue = this.queue(req.pipeline);
    const id = RedisKeys.jobId(req.pipeline, req.id);
    if (req.idempotencyKey !== undefined) {
      const ok = await this.client.set(this.keys.idempotency(req.pipeline, req.idempotencyKey), id, 'NX');
      if (ok !== 'OK') {
        const existing = await this.get((await this.client.get(this.keys.idempotency(req.pipeline, req.idempotencyKey)))!);
        if (existing) return { job: existing, created: false };
        await this.client.set(this.keys.idempotency(req.pipeline, req.idempotencyKey), id);
      }
    }
    const data: JobData = { i: req.input ?? null, m: req.maxDeliveries ?? DEFAULT_MAX_DELIVERIES };
    if (req.idempotencyKey !== undefined) data.k = req.idempotencyKey;
    const now = Date.now();
    // Issued together: ioredis pipelines them on one connection, one round trip.
    await Promise.all([
      queue.add(req.pipeline, data, { jobId: id, priority: req.priority || undefined, delay: req.delayMs || undefined, timestamp: now }),
      this.client.forjaRegister(this.keys.sequence(), this.keys.index(), this.keys.pipelineIndex(req.pipeline), id),
    ]);
    this.emit('enqueued', req.pipeline);
    const job: JobRecord = {
      id, pipeline: req.pipeline, state: 'queued', input: data.i, priority: req.priority ?? 0, attempts: 0, maxDeliveries: data.m,
      createdAt: now, runAt: now + (req.delayMs ?? 0), cancelRequested: false,
    };
    if (req.idempotencyKey !== undefined) job.idempotencyKey = req.idempotencyKey;
    return { job, created: true };
  }

  /** Many jobs in one BullMQ addBulk (no idempotency keys). */
  async enqueueMany(requests: EnqueueRequest[]): Promise<void> {
    const byPipeline = new Map<string, EnqueueRequest[]>();
    for (const r of requests) {
      const list = byPipeline.get(r.pipeline);
      if (list) list.push(r);
      else byPipeline.set(r.pipeline, [r]);
    }
    for (const [pipeline, reqs] of byPipeline) {
      const ids = reqs.map((r) => RedisKeys.jobId(pipeline, r.id));
      await Promise.all([
        this.queue(pipeline).addBulk(reqs.map((r, i) => ({
          name: pipeline, data: { i: r.input ?? null, m: r.maxDeliveries ?? DEFAULT_MAX_DELIVERIES } satisfies JobData,
          opts: { jobId: ids[i], priority: r.priority || undefined, delay: r.delayMs || undefined },
        }))),
        ...ids.map((id) => this.client.forjaRegister(this.keys.sequence(), this.keys.index(), this.keys.pipelineIndex(pipeline), id)),
      ]);
      this.emit('enqueued', pipeline);
    }
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const pipeline = RedisKeys.pipelineOf(id);
    if (!pipeline) return undefined;
    const [raw, state] = await Promise.all([this.client.hgetall(this.keys.job(id)), this.queue(pipeline).getJobState(id)]);
    return rawToJob(id, pipeline, raw, state);
  }

  async list(filter: ListFilter): Promise<JobPage> {
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
    const key = filter.pipeline ? this.keys.pipelineIndex(filter.pipeline) : this.keys.index();
    let max = filter.cursor ? `(${Number(filter.cursor)}` : '+inf';
    if (filter.cursor && !Number.isInteger(Number(filter.cursor))) throw errors.REQUEST_INVALID('invalid cursor');
    const jobs: JobRecord[] = [];
    let scanned = 0;
    let lastScore: string | undefined;
    while (jobs.length < limit && scanned < 5000) {
      const batch = await this.client.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', 0, Math.max(limit * 2, 100));
      if (batch.length === 0) return { jobs };
      const ids: string[] = [];
      const scores: string[] = [];
      for (let i = 0; i < batch.length; i += 2) { ids.push(batch[i]); scores.push(batch[i + 1]); }
      const records = await Promise.all(ids.map((id) => this.get(id)));
      for (let i = 0; i < ids.length; i++) {
        scanned++;
        lastScore = scores[i];
        const r = records[i];
        if (r && (!filter.state || r.state === filter.state)) jobs.push(r);
        if (jobs.length === limit) break;
      }
      max = `(${lastScore}`;
    }
    const more = await this.client.zrevrangebyscore(key, max, '-inf', 'LIMIT', 0, 1);
    return more.length > 0 ? { jobs, nextCursor: lastScore } : { jobs };
  }

  async steps(id: string): Promise<StepRecord[]> {
    const [order, fields] = await Promise.all([this.client.lrange(this.keys.stepOrder(id), 0, -1), this.client.hgetall(this.keys.steps(id))]);
    return order.filter((name) => fields[`m:${name}`] !== undefined).map((name) => {
      const step = { name, ...JSON.parse(fields[`m:${name}`]) } as StepRecord;
      if (fields[`r:${name}`] !== undefined) step.result = JSON.parse(fields[`r:${name}`]);
      if (fields[`c:${name}`] !== undefined) step.checkpoint = JSON.parse(fields[`c:${name}`]);
      return step;
    });
  }

  async logs(id: string, afterSeq = 0): Promise<LogEntry[]> {
    const raw = await this.client.lrange(this.keys.logs(id), afterSeq, afterSeq + 999);
    return raw.map((line) => {
      const bar = line.indexOf('|');
      const entry = JSON.parse(line.slice(bar + 1)) as Omit<LogEntry, 'seq'>;
      return { seq: Number(line.slice(0, bar)), ...entry };
    });
  }

  async counts(): Promise<Record<JobState, number>> {
    const out = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const [name, queue] of this.queues) {
      const [c, cancelled] = await Promise.all([
        queue.getJobCounts('waiting', 'prioritized', 'delayed', 'paused', 'active', 'completed', 'failed'),
        this.client.scard(this.keys.cancelledSet(name)),
      ]);
      out.queued += (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) + (c.paused ?? 0);
      out.running += c.active ?? 0;
      out.succeeded += c.completed ?? 0;
      out.failed += (c.failed ?? 0) - cancelled;
      out.cancelled += cancelled;
    }
    return out;
  }

  async claim(workerId: string, slots: Map<string, number>, leaseMs: number, max: number): Promise<LeasedJob[]> {
    const out: LeasedJob[] = [];
    for (const [pipeline, n] of slots) {
      const want = Math.min(n, max - out.length);
      if (want <= 0) continue;
      const worker = this.worker(pipeline, leaseMs);
      const ready = this.prefetched.get(pipeline);
      const jobs: Job[] = ready && ready.length > 0 ? ready.splice(0, want) : [];
      // Fetches ramp up, 1, 2, 4, ... at once while every fetch yields a job, and stop at the first
      // that comes back empty: a wake-up for one new job costs two calls, not one per free slot.
      let batch = 1;
      while (jobs.length < want) {
        const tokens = Array.from({ length: Math.min(batch, want - jobs.length) }, () => `${workerId}:${++this.tokenSeq}`);
        let got = 0;
        for (const job of await Promise.all(tokens.map((t) => worker.getNextJob(t, { block: false })))) {
          if (job) { jobs.push(job); got++; }
        }
        if (got < tokens.length) break;
        batch *= 2;
      }
      for (const job of jobs) {
        if (worker.opts.lockDuration !== leaseMs) await job.extendLock(job.token!, leaseMs);
        const data = job.data as JobData;
        const lease = { jobId: job.id!, pipeline, token: job.token! };
        this.leased.set(lease.jobId, job);
        // A job BullMQ moved to active for us becomes a lease, unless it has run out of deliveries.
        if (job.attemptsStarted > data.m) {
          await this.fail(lease, { message: 'job lost its worker too many times (max deliveries reached)', name: 'DeliveryLimitError' });
          continue;
        }
        out.push({
          jobId: lease.jobId, pipeline, token: lease.token, input: data.i, attempts: job.attemptsStarted, createdAt: job.timestamp,
          runAt: job.timestamp + (job.delay ?? 0), fresh: job.attemptsStarted === 1 && !data.r,
        });
      }
    }
    return out;
  }

  async heartbeat(leases: Lease[], leaseMs: number): Promise<LeaseStatus[]> {
    const results = await Promise.all(leases.map((l) => this.client.forjaHeartbeat(
      this.keys.lock(l.jobId), this.keys.job(l.jobId), this.keys.queueKey(l.pipeline, 'stalled'), l.token, String(leaseMs), l.jobId)));
    return results.map((r): LeaseStatus => (r === 0 ? 'lost' : r === 2 ? 'cancel' : 'ok'));
  }

  async complete(lease: Lease, result: unknown): Promise<boolean> {
    const job = this.leasedJob(lease);
    if (!job) return false;
    try {
      // Like BullMQ's own worker: completing fetches the next job in the same script call.
      const next = await job.moveToCompleted(result === undefined ? null : result, lease.token, !this.closing) as unknown[] | undefined;
      const raw = next?.[0] as Record<string, string> | null | undefined;
      if (raw && !this.closing) {
        const nextJob = Job.fromJSON(this.workers.get(lease.pipeline)! as unknown as Queue, raw as never, next![1] as string);
        nextJob.token = lease.token;
        const ready = this.prefetched.get(lease.pipeline);
        if (ready) ready.push(nextJob);
        else this.prefetched.set(lease.pipeline, [nextJob]);
        this.emit('enqueued', lease.pipeline);
      }
      return true;
    } catch {
      return false;
    } finally {
      this.leased.delete(lease.jobId);
    }
  }

  async fail(lease: Lease, error: JobError): Promise<boolean> {
    return this.finishFailed(lease, error, ['ferr', JSON.stringify(error)]);
  }

  async markCancelled(lease: Lease): Promise<boolean> {
    const ok = await this.finishFailed(lease, { message: 'cancelled', name: 'CancelledError' }, ['fstate', 'cancelled']);
    if (ok) await this.client.sadd(this.keys.cancelledSet(lease.pipeline), lease.jobId);
    return ok;
  }

  async release(lease: Lease, started = true): Promise<boolean> {
    const job = this.leasedJob(lease);
    if (!job) return false;
    try {
      // Marked first (steps may exist now), then handed back; a delivery cut short by shutdown does not count.
      if (started) await job.updateData({ ...(job.data as JobData), r: ((job.data as JobData).r ?? 0) + 1 });
      await job.moveToWait(lease.token);
      await this.client.hincrby(this.keys.job(lease.jobId), 'ats', -1);
      this.emit('enqueued', lease.pipeline);
      return true;
    } catch {
      return false;
    } finally {
      this.leased.delete(lease.jobId);
    }
  }

  async saveStep(lease: Lease, step: StepRecord): Promise<boolean> {
    const { name, result, checkpoint: _checkpoint, ...meta } = step;
    const hasResult = step.state === 'succeeded' && result !== undefined;
    return (await this.client.forjaSaveStep(this.keys.lock(lease.jobId), this.keys.steps(lease.jobId), this.keys.stepOrder(lease.jobId),
      lease.token, name, JSON.stringify(meta), hasResult ? '1' : '0', hasResult ? JSON.stringify(result) : '')) === 1;
  }

  async saveCheckpoint(lease: Lease, stepName: string, checkpoint: unknown): Promise<boolean> {
    return (await this.client.forjaCheckpoint(this.keys.lock(lease.jobId), this.keys.steps(lease.jobId), this.keys.stepOrder(lease.jobId),
      lease.token, stepName, JSON.stringify({ state: 'running', attempts: 1 }), JSON.stringify(checkpoint ?? null))) === 1;
  }

  async setProgress(lease: Lease, progress: number, message?: string): Promise<boolean> {
    return (await this.client.forjaFencedSet(this.keys.lock(lease.jobId), this.keys.job(lease.jobId), lease.token,
      'progress', JSON.stringify(progress), 'fpmsg', message ?? '')) === 1;
  }

  async appendLog(lease: Lease, message: string, data?: unknown): Promise<boolean> {
    const entry = JSON.stringify(data === undefined ? { at: Date.now(), message } : { at: Date.now(), message, data });
    return (await this.client.forjaLog(this.keys.lock(lease.jobId), this.keys.logs(lease.jobId), lease.token, entry)) > 0;
  }

  async cancel(id: string): Promise<JobRecord> {
    const pipeline = RedisKeys.pipelineOf(id);
    if (!pipeline) throw errors.JOB_NOT_FOUND(`job ${id} not found`);
    const k = (s: string) => this.keys.queueKey(pipeline, s);
    const code = await this.client.forjaCancel(this.keys.job(id), k('active'), k('wait'), k('prioritized'), k('delayed'), k('paused'),
      k('failed'), k('completed'), this.keys.cancelledSet(pipeline), id, String(Date.now()));
    if (code === -1) throw errors.JOB_NOT_FOUND(`job ${id} not found`);
    const job = (await this.get(id))!;
    if (code < 0) throw errors.JOB_STATE_CONFLICT(`job ${id} is ${job.state}; only queued or running jobs can be cancelled`);
    return job;
  }

  async retry(id: string): Promise<JobRecord> {
    const current = await this.get(id);
    if (!current) throw errors.JOB_NOT_FOUND(`job ${id} not found`);
    if (current.state !== 'failed' && current.state !== 'cancelled') {
      throw errors.JOB_STATE_CONFLICT(`job ${id} is ${current.state}; only failed or cancelled jobs can be retried`);
    }
    const queue = this.queue(current.pipeline);
    const job = await Job.fromId(queue, id);
    if (!job) throw errors.JOB_NOT_FOUND(`job ${id} not found`);
    // Failed steps get their tries back; completed steps and checkpoints stay.
    const fields = await this.client.hgetall(this.keys.steps(id));
    const resets: string[] = [];
    for (const [field, value] of Object.entries(fields)) {
      if (!field.startsWith('m:')) continue;
      const meta = JSON.parse(value) as Omit<StepRecord, 'name'>;
      if (meta.state !== 'succeeded') resets.push(field, JSON.stringify({ ...meta, state: 'running', attempts: 0, error: undefined }));
    }
    if (resets.length) await this.client.hset(this.keys.steps(id), ...resets);
    await this.client.hdel(this.keys.job(id), 'fcancel', 'fstate', 'ferr', 'progress', 'fpmsg');
    await this.client.srem(this.keys.cancelledSet(current.pipeline), id);
    await job.updateData({ ...(job.data as JobData), r: ((job.data as JobData).r ?? 0) + 1 });
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    this.emit('enqueued', current.pipeline);
    return (await this.get(id))!;
  }

  async claimScheduleTick(key: string, tickAt: number): Promise<boolean> {
    return (await this.client.forjaTick(this.keys.scheduleTick(key), String(tickAt))) === 1;
  }

  async sweep(pipeline: string, policy: RetentionPolicy, now = Date.now()): Promise<number> {
    const finished: [string, number][] = [];
    for (const set of ['completed', 'failed']) {
      const raw = await this.client.zrange(this.keys.queueKey(pipeline, set), 0, -1, 'WITHSCORES');
      for (let i = 0; i < raw.length; i += 2) finished.push([raw[i], Number(raw[i + 1])]);
    }
    finished.sort((a, b) => b[1] - a[1]);
    const doomed = finished.filter(([, at], i) => i >= policy.maxCount || at < now - policy.maxAgeMs).slice(0, 1000).map(([id]) => id);
    const queue = this.queue(pipeline);
    await Promise.all(doomed.map(async (id) => {
      const data = await this.client.hget(this.keys.job(id), 'data');
      const key = data ? (JSON.parse(data) as JobData).k : undefined;
      await queue.remove(id);
      const multi = this.client.multi()
        .del(this.keys.steps(id), this.keys.stepOrder(id), this.keys.logs(id))
        .zrem(this.keys.index(), id).zrem(this.keys.pipelineIndex(pipeline), id)
        .srem(this.keys.cancelledSet(pipeline), id);
      if (key !== undefined) multi.del(this.keys.idempotency(pipeline, key));
      await multi.exec();
    }));
    return doomed.length;
  }

  private async finishFailed(lease: Lease, error: JobError, fields: string[]): Promise<boolean> {
    const job = this.leasedJob(lease);
    if (!job) return false;
    try {
      const marked = await this.client.forjaFencedSet(this.keys.lock(lease.jobId), this.keys.job(lease.jobId), lease.token, ...fields);
      if (marked !== 1) return false;
      const err = Object.assign(new Error(error.message), { name: error.name ?? 'Error', stack: error.stack ?? error.message });
      await job.moveToFailed(err, lease.token, false);
      return true;
    } catch {
      return false;
    } finally {
      this.leased.delete(lease.jobId);
    }
  }

  private leasedJob(lease: Lease): Job | undefined {
    const job = this.leased.get(lease.jobId);
    return job && job.token === lease.token ? job : undefined;
  }

  private queue(pipeline: string): Queue {
    let q = this.queues.get(pipeline);
    if (!q) {
      q = new Queue(pipeline, { connection: this.client, prefix: this.keys.queuePrefix });
      q.on('error', (err) => this.options.logger?.warn({ err: err.message, pipeline }, 'bullmq queue error'));
      this.queues.set(pipeline, q);
    }
    return q;
  }

  private worker(pipeline: string, leaseMs: number): Worker {
    let w = this.workers.get(pipeline);
    if (!w) {
      w = new Worker(pipeline, null, {
        connection: this.client, prefix: this.keys.queuePrefix, autorun: false, lockDuration: leaseMs,
        stalledInterval: Math.max(50, Math.floor(leaseMs / 2)), maxStalledCount: 1_000_000,
      });
      w.on('error', (err) => this.options.logger?.warn({ err: err.message, pipeline }, 'bullmq worker error'));
      void w.startStalledCheckTimer();
      this.workers.set(pipeline, w);
    }
    return w;
  }
}
