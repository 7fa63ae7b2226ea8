/**
 * Crash recovery benchmark, printing JSON: a worker process runs 1,000 three-step jobs, is killed with
 * SIGKILL partway, and a new process starts on the same storage. Measured from the new process's
 * "ready": `resumeMs`, until every job the killed process held is delivered again (running in the
 * new process, or finished), and `drainMs`, until all jobs have finished. Side by side for each backend:
 *   sameNode: the restart is the same node (same node id), which takes its dead predecessor's leases
 *             back at once;
 *   newNode:  the restart is another node, which must wait for those leases to expire (the lease
 *             length, 30 s by default): what every restart cost before nodes had an identity.
 * Usage: node dist/bench/job-resume.js [--jobs 1000] [--lease-ms 30000] [--only sqlite|redis]
 * Redis runs use FORJA_BENCH_REDIS_URL (default redis://127.0.0.1:6379) under a private key prefix.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { QueueBackend } from '../src/pipelines/queues/backend.js';
import { SqliteBackend } from '../src/pipelines/queues/sqlite/index.js';
import { RedisBackend } from '../src/pipelines/queues/redis/index.js';
import { round } from '../src/telemetry/stats.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const JOBS = Number(arg('jobs', '1000'));
const LEASE_MS = Number(arg('lease-ms', '30000'));
const ONLY = arg('only', '');
const REDIS_URL = process.env.FORJA_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'resume-worker.js');

interface Run { resumeMs: number; drainMs: number; inFlightAtKill: number; succeededAtKill: number }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startWorker(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(child); });
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await sleep(10);
}

async function running(reader: QueueBackend): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await reader.list({ pipeline: 'resume', state: 'running', limit: 500, cursor });
    ids.push(...page.jobs.map((j) => j.id));
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

async function crashAndRestart(reader: QueueBackend, args: (nodeId: string) => string[], sameNode: boolean): Promise<Run> {
  await reader.init([{ name: 'resume' }]);
  await reader.enqueueMany(Array.from({ length: JOBS }, (_, n) => ({ id: randomUUID(), pipeline: 'resume', input: { n } })));
  const node = `bench-${randomUUID().slice(0, 8)}`;
  const first = await startWorker(args(node));
  await until(async () => (await reader.counts()).succeeded >= JOBS * 0.3);
  await kill(first);
  const inFlight = await running(reader);
  const succeededAtKill = (await reader.counts()).succeeded;

  const second = await startWorker(args(sameNode ? node : `${node}-new`));
  const t0 = performance.now();
  try {
    let resumeMs = -1;
    await until(async () => {
      if (resumeMs < 0) {
        const states = await Promise.all(inFlight.map((id) => reader.get(id)));
        if (states.every((j) => j?.state === 'succeeded' || (j?.state === 'running' && j.attempts >= 2))) resumeMs = performance.now() - t0;
      }
      return resumeMs >= 0 && (await reader.counts()).succeeded === JOBS;
    });
    return { resumeMs: round(resumeMs, 0), drainMs: round(performance.now() - t0, 0), inFlightAtKill: inFlight.length, succeededAtKill };
  } finally {
    await kill(second);
  }
}

async function sqlite(sameNode: boolean): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forja-bench-resume-'));
  const reader = new SqliteBackend({ file: path.join(dir, 'jobs.sqlite') });
  try {
    return await crashAndRestart(reader, (node) => ['sqlite', dir, node, String(LEASE_MS)], sameNode);
  } finally {
    await reader.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function redis(sameNode: boolean): Promise<Run> {
  const prefix = `forja-bench-resume-${process.pid}-${sameNode ? 'same' : 'new'}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forja-bench-resume-'));
  const reader = new RedisBackend({ url: REDIS_URL, prefix });
  try {
    return await crashAndRestart(reader, (node) => ['redis', dir, node, String(LEASE_MS), REDIS_URL, prefix], sameNode);
  } finally {
    await reader.close();
    fs.rmSync(dir, { recursive: true, force: true });
    const client = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await client.del(...keys);
    } while (cursor !== '0');
    client.disconnect();
  }
}

const out: Record<string, unknown> = { jobs: JOBS, steps: 3, leaseMs: LEASE_MS };
for (const [name, run] of [['sqlite', sqlite], ['redis', redis]] as const) {
  if (ONLY && ONLY !== name) continue;
  const sameNode = await run(true);
  const newNode = await run(false);
  out[name] = { sameNode, newNode, resumeSpeedupVsNewNode: round(newNode.resumeMs / Math.max(1, sameNode.resumeMs), 1) };
}
console.log(JSON.stringify(out, null, 2));
