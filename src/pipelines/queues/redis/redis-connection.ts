/**
 * What the parts of the Redis backend share: two ioredis clients with Forja's scripts, the key
 * names, BullMQ's Queue and Worker objects per pipeline (created on first use), and the signal that
 * wakes this process's workers.
 *
 * The two clients fail differently on purpose. `client` serves requests (submit, reads, cancel,
 * retry, probes): no offline queue, no resending after a reconnect, and every command bounded by
 * `commandTimeoutMs`, so an outage answers an error at once instead of holding the request, and a
 * command the caller gave up on is never replayed later. `workerClient` carries leases: it waits
 * through outages (a worker has nobody to answer and should resume where it was).
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ForjaError } from '../../../errors.js';
import { EnqueuedSignal } from '../enqueued-signal.js';
import { queueUnavailable } from '../storage-failure.js';
import { RedisKeys } from './redis-keys.js';
import { defineScripts, type ScriptedRedis } from './redis-scripts.js';

export class RedisConnection {
  readonly keys: RedisKeys;
  readonly enqueued = new EnqueuedSignal();
  private redis: ScriptedRedis | undefined;
  private workerRedis: ScriptedRedis | undefined;
  /** Redis's clock minus this machine's, measured at each (re)connect; deadlines are set in Redis time. */
  private clockOffsetMs = 0;
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Map<string, Worker>();
  private holdingWrites = false;

  constructor(private readonly url: string, prefix: string, readonly commandTimeoutMs: number, private readonly logger: Logger | undefined) {
    this.keys = new RedisKeys(prefix);
  }

  /** For requests: fails fast (see above). */
  get client(): ScriptedRedis {
    if (!this.redis) throw new Error('the Redis backend is used before init()');
    return this.redis;
  }

  /** For leases: waits through outages. */
  get workerClient(): ScriptedRedis {
    if (!this.workerRedis) throw new Error('the Redis backend is used before init()');
    return this.workerRedis;
  }

  /**
   * Holds the lease connection's writes until the end of this event-loop turn, then sends them in one
   * write: a burst of completions (or heartbeats) goes out as one packet, with fewer system calls here
   * and in Redis, while each answer is still handled as it arrives.
   */
  sendLeaseWritesTogether(): void {
    const stream = this.workerRedis?.stream;
    if (this.holdingWrites || !stream || stream.destroyed) return;
    this.holdingWrites = true;
    stream.cork();
    setImmediate(() => {
      this.holdingWrites = false;
      stream.uncork();
    });
  }

  /** Where Redis is, without credentials, for messages. */
  get address(): string {
    try {
      const u = new URL(this.url);
      return `${u.hostname}:${u.port || 6379}`;
    } catch {
      return 'the configured address';
    }
  }

  /**
   * The latest time (ms on Redis's clock) a request's write may still happen, for the scripts to
   * check against their own TIME. Half the command timeout: a write done in time has the other half
   * for its answer to arrive before the caller gives up, and one that arrives later (a stopped server
   * that resumes, a slow network) finds its deadline passed and does nothing.
   */
  writeDeadline(): string {
    return String(Math.floor(Date.now() + this.clockOffsetMs + this.commandTimeoutMs / 2));
  }

  lateWriteError(): ForjaError {
    return queueUnavailable(`the job queue (Redis at ${this.address}) did not answer within ${this.commandTimeoutMs} ms; nothing was written, retry later`);
  }

  async connect(): Promise<void> {
    if (this.redis) return;
    const client = new Redis(this.url, {
      lazyConnect: true, enableOfflineQueue: false, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0,
      commandTimeout: this.commandTimeoutMs, connectTimeout: this.commandTimeoutMs,
    });
    // maxRetriesPerRequest null: commands wait for a reconnect instead of failing (Redis restarts).
    const workerClient = new Redis(this.url, { maxRetriesPerRequest: null, lazyConnect: true });
    for (const c of [client, workerClient]) c.on('error', (err) => this.logger?.warn({ err: err.message }, 'redis connection error'));
    client.on('ready', () => void this.measureClock(client));
    await Promise.all([client.connect(), workerClient.connect()]);
    await this.measureClock(client);
    this.redis = defineScripts(client);
    this.workerRedis = defineScripts(workerClient);
  }

  private async measureClock(client: Redis): Promise<void> {
    try {
      const sent = Date.now();
      const [seconds, micros] = await client.time();
      const received = Date.now();
      this.clockOffsetMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (sent + received) / 2;
    } catch {
      // Measured again on the next reconnect; until then the last offset stands.
    }
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
        connection: this.workerClient, prefix: this.keys.queuePrefix, autorun: false, lockDuration: leaseMs,
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
    await Promise.all([this.redis?.quit().catch(() => undefined), this.workerRedis?.quit().catch(() => undefined)]);
  }
}
