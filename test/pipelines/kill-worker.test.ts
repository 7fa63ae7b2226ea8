/**
 * kill -9 of a real worker process in the middle of 1,000 three-step jobs, then a restart of the same
 * node (same data directory): every job ends succeeded exactly once, and every step that was stored as
 * completed when the process died never ran again. Steps caught mid-flight by the kill may run twice
 * (at-least-once); there are at most as many of those as the worker ran jobs at once. Runs against
 * both backends.
 *
 * The leases are ten minutes long, far longer than the test may take: the jobs the killed process held
 * can only finish because the restarted node recognises its dead predecessor's leases and takes them
 * back at once (bench/job-resume.ts measures how fast).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import type { QueueBackend } from '../../src/pipelines/queues/backend.js';
import { SqliteBackend } from '../../src/pipelines/queues/sqlite/index.js';
import { RedisBackend } from '../../src/pipelines/queues/redis/index.js';
import { tempDir, waitFor } from './helpers.js';
import { REDIS_URL, deleteRedisPrefix, redisSkipReason } from './redis-available.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const WORKER = path.join(here, 'fixtures', 'worker-process.js');
const PIPELINES = path.join(here, 'fixtures', 'pipelines');
const JOBS = 1000;
const STEPS = ['fetch', 'transform', 'write'];
const WORKER_CONCURRENCY = 20;

const LEASE_MS = 600_000;

function startWorker(args: string[], sideEffects: string): Promise<ChildProcess> {
  const env = { ...process.env, FORJA_SIDE_EFFECTS: sideEffects, FORJA_TEST_LEASE_MS: String(LEASE_MS) };
  const child = spawn(process.execPath, [WORKER, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(child); });
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

async function completedSteps(backend: QueueBackend, ids: string[]): Promise<Set<string>> {
  const done = new Set<string>();
  for (let i = 0; i < ids.length; i += 100) {
    const batch = await Promise.all(ids.slice(i, i + 100).map(async (id) => [id, await backend.steps(id)] as const));
    for (const [id, steps] of batch) for (const s of steps) if (s.state === 'succeeded') done.add(`${id} ${s.name}`);
  }
  return done;
}

async function crashAndRecover(kind: 'sqlite' | 'redis', reader: QueueBackend, args: string[]): Promise<void> {
  const sideEffects = path.join(tempDir(), 'side-effects.log');
  fs.writeFileSync(sideEffects, '');
  await reader.init([{ name: 'three-steps' }]);
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i++) ids.push((await reader.enqueue({ id: crypto.randomUUID(), pipeline: 'three-steps', input: { n: i } })).job.id);

  const first = await startWorker(args, sideEffects);
  // Kill once a good part of the work is done, while jobs are in flight.
  await waitFor(() => fs.statSync(sideEffects).size > 0 && fs.readFileSync(sideEffects, 'utf8').split('\n').length > JOBS);
  first.kill('SIGKILL');
  await exited(first);
  const storedAtKill = await completedSteps(reader, ids);
  const counts = await reader.counts();
  assert.ok(counts.succeeded < JOBS, `${kind}: the kill must land before the work is done`);

  const second = await startWorker(args, sideEffects);
  try {
    await waitFor(async () => (await reader.counts()).succeeded === JOBS, 60_000, 50);
  } finally {
    second.kill('SIGTERM');
    await exited(second);
  }

  for (let i = 0; i < ids.length; i++) {
    const job = await reader.get(ids[i]);
    assert.equal(job?.state, 'succeeded');
    assert.equal(job?.result, i + STEPS.length, 'each job finished once, with the result of its own steps');
  }
  assert.equal((await reader.counts()).succeeded, JOBS, 'no job was created or finished twice');
  const runs = new Map<string, number>();
  for (const line of fs.readFileSync(sideEffects, 'utf8').split('\n').filter(Boolean)) {
    const [id, step] = line.split(' ');
    runs.set(`${id} ${step}`, (runs.get(`${id} ${step}`) ?? 0) + 1);
  }
  let rerunInFlight = 0;
  for (const id of ids) {
    for (const step of STEPS) {
      const key = `${id} ${step}`;
      const n = runs.get(key) ?? 0;
      assert.ok(n >= 1, `${key} never ran`);
      if (storedAtKill.has(key)) assert.equal(n, 1, `${key} was completed before the kill but ran ${n} times`);
      else if (n > 1) rerunInFlight++;
    }
  }
  assert.ok(storedAtKill.size > 0, 'some steps had completed before the kill');
  assert.ok(rerunInFlight <= WORKER_CONCURRENCY, `${rerunInFlight} steps re-ran; at most ${WORKER_CONCURRENCY} can be in flight at a kill`);
  console.log(`# ${kind}: ${storedAtKill.size} steps stored before the kill ran once each; ${rerunInFlight} in-flight steps ran again`);
}

describe('kill -9 of a worker process during 1,000 jobs', () => {
  it('sqlite: every job succeeds; no completed step runs again', async () => {
    const dataDir = tempDir();
    const reader = new SqliteBackend({ file: path.join(dataDir, 'jobs.sqlite') });
    try {
      await crashAndRecover('sqlite', reader, ['sqlite', dataDir, PIPELINES]);
    } finally {
      await reader.close();
    }
  });

  const prefix = `forja-kill-${process.pid}`;
  after(() => deleteRedisPrefix(prefix).catch(() => undefined));
  it('redis: every job succeeds; no completed step runs again', async (t) => {
    const skip = await redisSkipReason();
    if (skip) return t.skip(skip);
    const reader = new RedisBackend({ url: REDIS_URL, prefix });
    try {
      await crashAndRecover('redis', reader, ['redis', tempDir(), PIPELINES, REDIS_URL, prefix]);
    } finally {
      await reader.close();
    }
  });
});
