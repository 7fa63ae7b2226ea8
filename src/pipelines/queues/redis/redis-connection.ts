/**
 * What the parts of the Redis backend share: one ioredis client with Forja's scripts, the key
 * names, BullMQ's Queue and Worker objects per pipeline (created on first use), and the signal that
 * wakes this process's workers.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { EnqueuedSignal } from '../enqueued-signal.js';
import { RedisKeys } from './redis-keys.js';
import { defineScripts, type ScriptedRedis } from './redis-scripts.js';

export class RedisConnection {
  readonly keys: RedisKeys;
  readonly enqueued = new EnqueuedSignal();
  private redis: ScriptedRedis | undefined;
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Map<string, Worker>();

  constructor(private readonly url: string, prefix: string, private readonly logger: Logger | undefined) {
    this.keys = new RedisKeys(prefix);
  }

  get client(): ScriptedRedis {
    if (!this.redis) throw new Error('the Redis backend is used before init()');
    return this.redis;
  }

  async connect(): Promise<void> {
    if (this.redis) return;
    // maxRetriesPerRequest null: commands wait for a reconnect instead of failing (Redis restarts).
    const client = new Redis(this.url, { maxRetriesPerRequest: null, lazyConnect: true });
    client.on('error', (err) => this.logger?.warn({ err: err.message }, 'redis connection error'));
    await client.connect();
    this.redis = defineScripts(client);
  }

  /** Pipelines with a BullMQ queue in this process (initialised or used). */
  pipelines(): string[] {
    return [...this.queues.keys()];
  }

  queue(pipeline: string): Queue {
    let q = this.queues.get(pipeline);
    if (!q) {
      q = new Queue(pipeline, { connection: this.client, prefix: this.keys.queuePrefix });
      q.on('error', (err) => this.logger?.warn({ err: err.message, pipeline }, 'bullmq queue error'));
      this.queues.set(pipeline, q);
    }
    return q;
  }

  /** The pipeline's BullMQ worker in manual mode (Forja's worker claims through it), started on the first claim. */
  worker(pipeline: string, leaseMs: number): Worker {
    let w = this.workers.get(pipeline);
    if (!w) {
      w = new Worker(pipeline, null, {
        connection: this.client, prefix: this.keys.queuePrefix, autorun: false, lockDuration: leaseMs,
        stalledInterval: Math.max(50, Math.floor(leaseMs / 2)), maxStalledCount: 1_000_000,
      });
      w.on('error', (err) => this.logger?.warn({ err: err.message, pipeline }, 'bullmq worker error'));
      void w.startStalledCheckTimer();
      this.workers.set(pipeline, w);
    }
    return w;
  }

  existingWorker(pipeline: string): Worker | undefined {
    return this.workers.get(pipeline);
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.close(true)));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.workers.clear();
    this.queues.clear();
    await this.redis?.quit().catch(() => undefined);
  }
}
