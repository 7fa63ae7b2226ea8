/**
 * Job queue benchmark, printing JSON. Side by side in one run, with the same no-op jobs and the same
 * concurrency: Forja on SQLite, Forja on Redis, and raw BullMQ (Queue + Worker) on the same Redis.
 *   throughput: N jobs added in bulk first, then drained by one worker; jobs/s of the drain.
 *   latency:    jobs added one at a time, paced by timers at RATE/s; enqueue → start of run(), p50/p99.
 *   cpu:        CPU time per drained job, the benchmark process's and the Redis server's (INFO cpu):
 *               what a change saves shows there even when a busy machine makes jobs/s jump.
 *   submit:     PipelineService.submit (what the jobs API calls) one after another, with a new job each
 *               time and with one idempotency key repeated; submits/s (no worker runs).
 * The three run once per round, in a rotated order (so a neighbour's load does not always land on the
 * same one); each figure is the median of the rounds with its spread (min, max), and each ratio the
 * median of the rounds' own side-by-side ratios.
 * Usage: node dist/bench/jobs.js [--rounds 5] [--jobs 20000] [--concurrency 50] [--rate 500] [--latency-jobs 1000]
 *        [--submits 1000] [--quick]
 * `--quick` (for CI) defaults to 3 rounds, 2,000 jobs, 200 latency jobs and 300 submits; explicit flags still win.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { JobEvents } from '../src/pipelines/job-events.js';
import { preparePipeline } from '../src/pipelines/pipeline-loader.js';
import type { QueueBackend } from '../src/pipelines/queues/backend.js';
import { SqliteBackend } from '../src/pipelines/queues/sqlite/index.js';
import { RedisBackend } from '../src/pipelines/queues/redis/index.js';
import { PipelineService } from '../src/pipelines/service.js';
import { PipelineWorker } from '../src/pipelines/worker.js';
import { median, percentile, round } from '../src/telemetry/stats.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const QUICK = process.argv.includes('--quick');
const ROUNDS = arg('rounds', QUICK ? 3 : 5);
const JOBS = arg('jobs', QUICK ? 2000 : 20_000);
const CONCURRENCY = arg('concurrency', 50);
const RATE = arg('rate', 500);
const LATENCY_JOBS = arg('latency-jobs', QUICK ? 200 : 1000);
const SUBMITS = arg('submits', QUICK ? 300 : 1000);
const REDIS_URL = process.env.FORJA_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `forja-bench-${process.pid}`;

/** The targets this benchmark checks (docs/benchmarks.md). */
const TARGETS = { sqliteVsBullmqThroughput: 2.0, sqliteLatencyP50Ms: 0.5, redisVsBullmqThroughput: 1.0 };

interface Result { jobsPerSec: number; latencyMs: { p50: number; p99: number }; cpuUsPerJob: { process: number; redis: number } }
interface SubmitResult { newJobPerSec: number; repeatedKeyPerSec: number }
type Contender = 'bullmqRaw' | 'forjaSqlite' | 'forjaRedis';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds the Redis server has used so far (INFO cpu), so its share of each drain is measured too. */
async function redisCpuSeconds(): Promise<number> {
  const client = new Redis(REDIS_URL);
  try {
    const info = await client.info('cpu');
    const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
    return field('used_cpu_user') + field('used_cpu_sys');
  } finally {
    client.disconnect();
  }
}

/**
 * CPU time per job of a drain: this process's and the Redis server's. Unlike jobs/s it barely moves
 * when a busy machine takes the cores away for a while, so it shows what a change saved.
 */
async function cpuMeter(): Promise<() => Promise<{ process: number; redis: number }>> {
  const redis0 = await redisCpuSeconds();
  const process0 = process.cpuUsage();
  return async () => {
    const used = process.cpuUsage(process0);
    const redis = await redisCpuSeconds();
    return { process: round((used.user + used.system) / JOBS, 1), redis: round(((redis - redis0) * 1e6) / JOBS, 1) };
  };
}

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

function latencies(sent: Map<string, number>, started: Map<string, number>): { p50: number; p99: number } {
  const lat = [...sent].map(([k, t]) => started.get(k)! - t);
  return { p50: round(percentile(lat, 50)), p99: round(percentile(lat, 99)) };
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

  for (let i = 0; i < JOBS; i += 1000) {
    await backend.enqueueMany(Array.from({ length: Math.min(1000, JOBS - i) }, () => ({ id: randomUUID(), pipeline: pipelineName, input: {} })));
  }
  const worker = new PipelineWorker({ backend, pipelines: [pipeline], events, concurrency: CONCURRENCY, pollMs: 50 });
  backend.onEnqueued(() => worker.wake());
  const drained = new Promise<void>((r) => { onDone = r; });
  const meter = await cpuMeter();
  const t0 = performance.now();
  worker.start();
  await drained;
  const seconds = (performance.now() - t0) / 1000;
  const cpuUsPerJob = await meter();

  done = 0;
  target = LATENCY_JOBS;
  const latencyDone = new Promise<void>((r) => { onDone = r; });
  const sent = new Map<string, number>();
  await paced(LATENCY_JOBS, RATE, async (k) => { await backend.enqueue({ id: randomUUID(), pipeline: pipelineName, input: { k } }); }, sent);
  await latencyDone;
  await worker.stop(1000);
  await backend.close();
  return { jobsPerSec: Math.round(JOBS / seconds), latencyMs: latencies(sent, started), cpuUsPerJob };
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
  const meter = await cpuMeter();
  const t0 = performance.now();
  const worker = new Worker(name, async (job) => { if (job.data.k) started.set(job.data.k, performance.now()); }, { connection, prefix, concurrency: CONCURRENCY });
  worker.on('completed', () => { if (++done >= target) onDone(); });
  await drained;
  const seconds = (performance.now() - t0) / 1000;
  const cpuUsPerJob = await meter();

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
  return { jobsPerSec: Math.round(JOBS / seconds), latencyMs: latencies(sent, started), cpuUsPerJob };
}

/** submit() through the service, as the jobs API calls it: new jobs, then one idempotency key again and again. */
async function submits(backend: 'sqlite' | 'redis', dataDir: string, prefix: string): Promise<SubmitResult> {
  const service = new PipelineService({
    dataDir, backend, redisUrl: REDIS_URL, redisPrefix: prefix, registry: new Registry(), logger: pino({ level: 'silent' }),
    pipelines: [{ name: 'noop', run: () => undefined }], runWorker: false, runScheduler: false, sweepIntervalMs: 0,
  });
  await service.start();
  try {
    const input = { image: 'https://example.com/a.png', options: { width: 640, height: 480, tags: ['a', 'b', 'c'] } };
    const rate = async (key: string | undefined) => {
      const t0 = performance.now();
      for (let i = 0; i < SUBMITS; i++) await service.submit({ pipeline: 'noop', input, idempotencyKey: key });
      return Math.round(SUBMITS / ((performance.now() - t0) / 1000));
    };
    return { newJobPerSec: await rate(undefined), repeatedKeyPerSec: await rate('same-key') };
  } finally {
    await service.stop();
  }
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

const cpuOf = (r: Result) => r.cpuUsPerJob.process + r.cpuUsPerJob.redis;
const spread = (xs: number[]) => ({ min: Math.min(...xs), max: Math.max(...xs) });
/** The rounds' median of one figure, with its spread. */
const summary = (xs: number[]) => ({ median: round(median(xs)), ...spread(xs.map((x) => round(x))), rounds: xs.map((x) => round(x)) });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forja-bench-'));
try {
  const rounds: { order: Contender[]; results: Record<Contender, Result>; submit: Record<'sqlite' | 'redis', SubmitResult> }[] = [];
  const contenders: Record<Contender, (r: number) => Promise<Result>> = {
    bullmqRaw: () => rawBullmq(),
    forjaSqlite: (r) => forja(() => new SqliteBackend({ file: path.join(dir, `jobs-${r}.sqlite`) })),
    forjaRedis: (r) => forja(() => new RedisBackend({ url: REDIS_URL, prefix: `${PREFIX}-${r}` })),
  };
  const names = Object.keys(contenders) as Contender[];
  for (let r = 0; r < ROUNDS; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    const results = {} as Record<Contender, Result>;
    for (const name of order) {
      results[name] = await contenders[name](r);
      process.stderr.write(`jobs bench round ${r + 1}/${ROUNDS}: ${name} ${results[name].jobsPerSec} jobs/s, p50 ${results[name].latencyMs.p50} ms\n`);
    }
    const submit = { sqlite: await submits('sqlite', path.join(dir, `submit-${r}`), `${PREFIX}-s${r}`), redis: await submits('redis', dir, `${PREFIX}-s${r}`) };
    rounds.push({ order, results, submit });
  }
  const figure = (name: Contender, pick: (r: Result) => number) => summary(rounds.map((r) => pick(r.results[name])));
  const contender = (name: Contender) => ({
    jobsPerSec: figure(name, (r) => r.jobsPerSec),
    latencyMs: { p50: figure(name, (r) => r.latencyMs.p50), p99: figure(name, (r) => r.latencyMs.p99) },
    cpuUsPerJob: { process: figure(name, (r) => r.cpuUsPerJob.process), redis: figure(name, (r) => r.cpuUsPerJob.redis) },
  });
  const bullmq = contender('bullmqRaw');
  const sqlite = contender('forjaSqlite');
  const redis = contender('forjaRedis');
  // Each round's ratio is taken side by side, then the median of those.
  const perRound = {
    sqliteVsBullmqThroughput: rounds.map((r) => r.results.forjaSqlite.jobsPerSec / r.results.bullmqRaw.jobsPerSec),
    redisVsBullmqThroughput: rounds.map((r) => r.results.forjaRedis.jobsPerSec / r.results.bullmqRaw.jobsPerSec),
    sqliteVsBullmqLatencyP50: rounds.map((r) => r.results.bullmqRaw.latencyMs.p50 / r.results.forjaSqlite.latencyMs.p50),
    // Jobs per CPU second, worker process and Redis server together, Forja on Redis over raw BullMQ.
    redisVsBullmqJobsPerCpuSecond: rounds.map((r) => cpuOf(r.results.bullmqRaw) / cpuOf(r.results.forjaRedis)),
  };
  const ratios = {
    sqliteVsBullmqThroughput: round(median(perRound.sqliteVsBullmqThroughput), 2),
    redisVsBullmqThroughput: round(median(perRound.redisVsBullmqThroughput), 2),
    // Higher is better, as for every ratio: how many times lower Forja's p50 is than BullMQ's.
    sqliteVsBullmqLatencyP50: round(median(perRound.sqliteVsBullmqLatencyP50), 2),
    redisVsBullmqJobsPerCpuSecond: round(median(perRound.redisVsBullmqJobsPerCpuSecond), 2),
  };
  const targets = [
    { target: `forjaSqlite jobs/s >= ${TARGETS.sqliteVsBullmqThroughput} x bullmqRaw`, figure: sqlite.jobsPerSec.median, peer: bullmq.jobsPerSec.median,
      ratio: ratios.sqliteVsBullmqThroughput, met: ratios.sqliteVsBullmqThroughput >= TARGETS.sqliteVsBullmqThroughput },
    { target: `forjaSqlite enqueue->start p50 <= ${TARGETS.sqliteLatencyP50Ms} ms`, figure: sqlite.latencyMs.p50.median, peer: bullmq.latencyMs.p50.median,
      ratio: ratios.sqliteVsBullmqLatencyP50, met: sqlite.latencyMs.p50.median <= TARGETS.sqliteLatencyP50Ms },
    { target: `forjaRedis jobs/s >= ${TARGETS.redisVsBullmqThroughput} x bullmqRaw`, figure: redis.jobsPerSec.median, peer: bullmq.jobsPerSec.median,
      ratio: ratios.redisVsBullmqThroughput, met: ratios.redisVsBullmqThroughput >= TARGETS.redisVsBullmqThroughput },
  ];
  const submitFigure = (backend: 'sqlite' | 'redis', pick: (s: SubmitResult) => number) => summary(rounds.map((r) => pick(r.submit[backend])));
  console.log(JSON.stringify({
    bench: 'jobs',
    quick: QUICK,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}`, loadavg: os.loadavg().map((x) => round(x, 2)) },
    settings: { rounds: ROUNDS, jobs: JOBS, concurrency: CONCURRENCY, latencyRatePerSec: RATE, latencyJobs: LATENCY_JOBS, submits: SUBMITS, statistic: 'median of rounds' },
    bullmqRaw: bullmq,
    forjaSqlite: sqlite,
    forjaRedis: redis,
    submitPerSec: {
      sqlite: { newJob: submitFigure('sqlite', (s) => s.newJobPerSec), repeatedKey: submitFigure('sqlite', (s) => s.repeatedKeyPerSec) },
      redis: { newJob: submitFigure('redis', (s) => s.newJobPerSec), repeatedKey: submitFigure('redis', (s) => s.repeatedKeyPerSec) },
    },
    ratios,
    ratioSpread: Object.fromEntries(Object.entries(perRound).map(([k, xs]) => [k, { ...spread(xs.map((x) => round(x, 2))), rounds: xs.map((x) => round(x, 2)) }])),
    targets,
  }, null, 2));
} finally {
  await cleanRedis();
  fs.rmSync(dir, { recursive: true, force: true });
}
