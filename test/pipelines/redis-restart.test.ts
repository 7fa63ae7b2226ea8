/**
 * A Redis server stopped and started again while a worker runs jobs: the worker reconnects and every
 * job finishes. Uses its own redis-server (append-only file, fsync always) on a free port, never the shared one.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, it } from 'node:test';
import { definePipeline } from '../../src/pipelines/define.js';
import type { PipelineService } from '../../src/pipelines/service.js';
import { tempDir, waitFor } from './helpers.js';
import { freePort, hasRedisServer, killRedis, startRedis } from './private-redis.js';
import { startService } from './service-harness.js';

let redis: ChildProcess | undefined;
let service: PipelineService | undefined;
after(async () => {
  await service?.stop({ timeoutMs: 100 });
  await killRedis(redis);
});

it('workers reconnect after Redis restarts, and no job is lost', { skip: hasRedisServer ? undefined : 'redis-server is not installed' }, async () => {
  const port = await freePort();
  const dir = tempDir();
  redis = await startRedis(port, dir);
  const ran = new Map<string, number>();
  service = await startService([definePipeline({
    name: 'survivor',
    async run(input: { n: number }, ctx) {
      const a = await ctx.step('a', async () => { await new Promise((r) => setTimeout(r, 2)); return input.n; });
      return ctx.step('b', () => { ran.set(ctx.job.id, (ran.get(ctx.job.id) ?? 0) + 1); return a * 2; });
    },
  })], { backend: 'redis', redisUrl: `redis://127.0.0.1:${port}`, worker: { concurrency: 5, leaseMs: 3000, pollMs: 20 } });
  const ids: string[] = [];
  for (let i = 0; i < 200; i++) ids.push((await service.submit({ pipeline: 'survivor', input: { n: i } })).job.id);
  await waitFor(() => ran.size >= 20);
  redis.kill('SIGTERM');
  await new Promise((r) => redis!.once('exit', r));
  redis = await startRedis(port, dir);
  // Until the restarted Redis answers, reads fail fast (503 QUEUE_UNAVAILABLE); the workers wait and resume.
  await waitFor(async () => (await service!.counts().catch(() => undefined))?.succeeded === 200, 60_000, 50);
  for (let i = 0; i < ids.length; i++) {
    const job = await service.get(ids[i]) as { state: string; result: unknown };
    assert.equal(job.state, 'succeeded');
    assert.equal(job.result, i * 2);
  }
  assert.equal(ran.size, 200);
});
