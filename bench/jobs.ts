/**
 * Job queue benchmark, printing JSON. Side by side in one run, with the same no-op jobs and the same
 * concurrency: Forja on SQLite, Forja on Redis, and raw BullMQ (Queue + Worker) on the same Redis.
 *   throughput: N jobs added in bulk first, then drained by one worker; jobs/s of the drain.
 *   latency:    jobs added one at a time, paced by timers at RATE/s; enqueue → start of run(), p50/p99.
 * Usage: node dist/bench/jobs.js [--jobs 20000] [--concurrency 50] [--rate 500] [--latency-jobs 1000] [--quick]
 * `--quick` (for CI) defaults to 2,000 jobs and 200 latency jobs; explicit flags still win.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { JobEvents } from '../src/pipelines/job-events.js';
import { preparePipeline } from '../src/pipelines/pipeline-loader.js';
import type { QueueBackend } from '../src/pipelines/queues/backend.js';
import { SqliteBackend } from '../src/pipelines/queues/sqlite/index.js';
import { RedisBackend } from '../src/pipelines/queues/redis/index.js';
import { percentile, round } from '../src/telemetry/stats.js';
import { PipelineWorker } from '../src/pipelines/worker.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const QUICK = process.argv.includes('--quick');
const JOBS = arg('jobs', QUICK ? 2000 : 20_000);
const CONCURRENCY = arg('concurrency', 50);
const RATE = arg('rate', 500);
const LATENCY_JOBS = arg('latency-jobs', QUICK ? 200 : 1000);
const REDIS_URL = process.env.FORJA_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `forja-bench-${process.pid}`;

interface Result { jobsPerSec: number; latencyMs: { p50: number; p99: number } }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Adds `count` jobs one by one at `rate`/s, timers only; returns the enqueue times by job key. */
async function paced(count: number, rate: number, add: (key: string) => Promise<void>, sent: Map<string, number>): Promise<void> {
  const interval = 1000 / rate;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const key = `l${i}`;
    sent.set(key, performance.now());
    await add(key);
  }
}

async function forja(make: () => QueueBackend): Promise<Result> {
  const pipelineName = 'noop';
  const started = new Map<string, number>();
  let done = 0;
  let onDone: () => void = () => {};
  const pipeline = preparePipeline({ name: pipelineName, run: (input: { k?: string }) => { if (input.k) started.set(input.k, performance.now()); } }, pipelineName);
  const backend = make();
  await backend.init([{ name: pipelineName }]);
  const events = new JobEvents();
  events.subscribe('*', (e) => { if (e.type === 'job:state' && e.state === 'succeeded' && ++done >= target) onDone(); });
  let target = JOBS;

  await backend.enqueueMany(Array.from({ length: JOBS }, () => ({ id: randomUUID(), pipeline: pipelineName, input: {} })));
  const worker = new PipelineWorker({ backend, pipelines: [pipeline], events, concurrency: CONCURRENCY, pollMs: 50 });
  backend.onEnqueued(() => worker.wake());
  const drained = new Promise<void>((r) => { onDone = r; });
  const t0 = performance.now();
  worker.start();
  await drained;
  const seconds = (performance.now() - t0) / 1000;

  done = 0;
  target = LATENCY_JOBS;
  const latencyDone = new Promise<void>((r) => { onDone = r; });
  const sent = new Map<string, number>();
  await paced(LATENCY_JOBS, RATE, async (k) => { await backend.enqueue({ id: randomUUID(), pipeline: pipelineName, input: { k } }); }, sent);
  await latencyDone;
  await worker.stop(1000);
  await backend.close();
  const lat = [...sent].map(([k, t]) => started.get(k)! - t);
  return { jobsPerSec: Math.round(JOBS / seconds), latencyMs: { p50: round(percentile(lat, 50)), p99: round(percentile(lat, 99)) } };
}

async function rawBullmq(): Promise<Result> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const name = 'raw-noop';
  const prefix = `${PREFIX}-raw`;
  const queue = new Queue(name, { connection, prefix });
  for (let i = 0; i < JOBS; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, JOBS - i) }, () => ({ name, data: {} })));
  }
  const started = new Map<string, number>();
  let done = 0;
  let target = JOBS;
  let onDone: () => void = () => {};
  const drained = new Promise<void>((r) => { onDone = r; });
  const t0 = performance.now();
  const worker = new Worker(name, async (job) => { if (job.data.k) started.set(job.data.k, performance.now()); }, { connection, prefix, concurrency: CONCURRENCY });
  worker.on('completed', () => { if (++done >= target) onDone(); });
  await drained;
  const seconds = (performance.now() - t0) / 1000;

  done = 0;
  target = LATENCY_JOBS;
  const latencyDone = new Promise<void>((r) => { onDone = r; });
  const sent = new Map<string, number>();
  await paced(LATENCY_JOBS, RATE, async (k) => { await queue.add(name, { k }); }, sent);
  await latencyDone;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  const lat = [...sent].map(([k, t]) => started.get(k)! - t);
  return { jobsPerSec: Math.round(JOBS / seconds), latencyMs: { p50: round(percentile(lat, 50)), p99: round(percentile(lat, 99)) } };
}

async function cleanRedis(): Promise<void> {
  const client = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await client.del(...keys);
  } while (cursor !== '0');
  client.disconnect();
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forja-bench-'));
try {
  const bullmq = await rawBullmq();
  const sqlite = await forja(() => new SqliteBackend({ file: path.join(dir, 'jobs.sqlite') }));
  const redis = await forja(() => new RedisBackend({ url: REDIS_URL, prefix: PREFIX }));
  console.log(JSON.stringify({
    bench: 'jobs',
    quick: QUICK,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}` },
    settings: { jobs: JOBS, concurrency: CONCURRENCY, latencyRatePerSec: RATE, latencyJobs: LATENCY_JOBS },
    bullmqRaw: bullmq,
    forjaSqlite: sqlite,
    forjaRedis: redis,
    ratios: {
      sqliteVsBullmqThroughput: round(sqlite.jobsPerSec / bullmq.jobsPerSec, 2),
      redisVsBullmqThroughput: round(redis.jobsPerSec / bullmq.jobsPerSec, 2),
    },
    targets: { sqliteVsBullmqThroughput: '>= 1.0', sqliteLatencyP50Ms: '<= 1', redisVsBullmqThroughput: '>= 0.9' },
  }, null, 2));
} finally {
  await cleanRedis();
  fs.rmSync(dir, { recursive: true, force: true });
}
