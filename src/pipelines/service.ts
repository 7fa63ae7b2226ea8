/**
 * PipelineService: the one object the server, CLI and tests use. It ties together the pipeline
 * registry, the queue backend (from an injectable factory), a worker, the scheduler and the retention
 * sweeper, and offers the operations the HTTP layer needs (submit, get, list, cancel, retry, webhooks
 * through webhook-receiver.ts, events).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errors, toForjaError, type ForjaError } from '../errors.js';
import { AbortReason } from './abort.js';
import { canonicalJson } from './canonical-json.js';
import { checkDelay, checkIdempotencyKey } from './submit-limits.js';
import type { PipelineDefinition, PipelineModels } from './define.js';
import { JobEvents, type JobEvent } from './job-events.js';
import { logJobLifecycle } from './job-lifecycle-log.js';
import { toJobView, type JobView } from './job-view.js';
import type { LoadFailure } from './pipeline-loader.js';
import { PipelineRegistry, type PipelineInfo } from './pipeline-registry.js';
import { defaultBackendFactory, type BackendFactory } from './backend-factory.js';
import { receiveWebhook, type WebhookHeaders } from './webhook-receiver.js';
import { PipelineMetrics } from './pipeline-metrics.js';
import type { JobCounts, JobRecord, ListFilter, LogEntry, QueueBackend } from './queues/backend.js';
import { RetentionSweeper } from './retention-sweeper.js';
import { Scheduler, scheduledPipelines } from './scheduler.js';
import { PipelineWorker } from './worker.js';
import { currentProcess, formatOwner, isDeadSibling, resolveNodeId } from './process-identity.js';

export const DEFAULT_MAX_INPUT_BYTES = 1024 * 1024;

export interface PipelineServiceOptions {
  dataDir: string;
  pipelinesDir?: string;
  /** Pipelines given in code (tests, embedding), added to those loaded from pipelinesDir. */
  pipelines?: PipelineDefinition<any, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  backend?: 'sqlite' | 'redis';
  redisUrl?: string;
  /** Key prefix in Redis (separate Forja installations sharing one Redis). Default "forja". */
  redisPrefix?: string;
  /** How long a request waits for the queue storage before QUEUE_UNAVAILABLE (Redis). Default 3000 ms. */
  backendTimeoutMs?: number;
  /** Opens the queue backend; default: SQLite in dataDir, or Redis per backend/redisUrl/redisPrefix. */
  createBackend?: BackendFactory;
  registry: Registry;
  logger: Logger;
  models?: PipelineModels;
  /**
   * This node's stable id (config pipelines.node_id); default: a UUID kept in `<dataDir>/node-id`.
   * With it a restarted process takes back at once the jobs its crashed predecessor held.
   */
  nodeId?: string;
  /** Run jobs in this process (default true); false serves the API only. */
  runWorker?: boolean;
  worker?: { concurrency?: number; leaseMs?: number; pollMs?: number; heartbeatMs?: number; workerId?: string };
  /** Fire cron schedules from this process (default true). */
  runScheduler?: boolean;
  /** How often the retention sweeper runs (default 60 s; 0 = never). */
  sweepIntervalMs?: number;
}

export interface SubmitRequest {
  pipeline: string;
  input?: unknown;
  idempotencyKey?: string;
  priority?: number;
  delayMs?: number;
}

export type { PipelineInfo } from './pipeline-registry.js';

export class PipelineService {
  readonly events = new JobEvents();
  readonly metrics: PipelineMetrics;
  backend!: QueueBackend;
  private readonly registry = new PipelineRegistry();
  private worker: PipelineWorker | undefined;
  private scheduler: Scheduler | undefined;
  private sweeper: RetentionSweeper | undefined;
  private started = false;
  private draining: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private stopLifecycleLog: (() => void) | undefined;
  /** The backend is open (between init and close). */
  private open = false;

  constructor(readonly options: PipelineServiceOptions) {
    this.metrics = new PipelineMetrics(options.registry, () => this.backend.counts());
  }

  /** Pipelines that failed to load, by file and name. */
  get loadFailures(): LoadFailure[] {
    return this.registry.failures;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.draining = undefined;
    this.stopping = undefined;
    const { logger } = this.options;
    this.stopLifecycleLog = logJobLifecycle(this.events, logger);
    await this.registry.load({ pipelines: this.options.pipelines, dir: this.options.pipelinesDir, logger });
    const pipelines = this.registry.all();
    this.backend = await (this.options.createBackend ?? defaultBackendFactory({ ...this.options, logger }))();
    await this.backend.init(pipelines.map((p) => ({ name: p.name, concurrency: p.definition.concurrency })));
    this.open = true;
    logger.info({ pipelines: pipelines.map((p) => p.name), backend: this.backend.kind }, 'pipelines loaded');

    if (this.options.runWorker !== false && pipelines.length > 0) {
      const w = this.options.worker ?? {};
      const identity = currentProcess(resolveNodeId(path.resolve(this.options.dataDir), this.options.nodeId));
      this.worker = new PipelineWorker({
        backend: this.backend, pipelines, events: this.events, metrics: this.metrics, models: this.options.models, logger,
        concurrency: w.concurrency, leaseMs: w.leaseMs, pollMs: w.pollMs, heartbeatMs: w.heartbeatMs, workerId: w.workerId ?? formatOwner(identity),
        isDeadOwner: (owner) => isDeadSibling(owner, identity),
        onLogError: (err) => logger.debug({ err }, 'progress or log write was refused'),
      });
      this.backend.onEnqueued(() => this.worker?.wake());
      this.worker.start();
    }
    if (this.options.runScheduler !== false) {
      this.scheduler = new Scheduler(scheduledPipelines(pipelines), {
        claimTick: (key, tick) => this.backend.claimScheduleTick(key, tick),
        // The scheduler's keys are `schedule:<tick>` already: their own namespace.
        enqueue: (pipeline, input, idempotencyKey) => this.enqueueJob({ pipeline, input }, idempotencyKey),
        logger,
      });
      this.scheduler.start();
    }
    const sweepEvery = this.options.sweepIntervalMs ?? 60_000;
    this.sweeper = new RetentionSweeper(this.backend, pipelines, logger);
    if (sweepEvery > 0) this.sweeper.start(sweepEvery);
  }

  /**
   * Stops taking jobs at once, lets running ones finish for `timeoutMs` (the grace), then aborts their
   * steps' signals and hands the jobs back. The API keeps answering until stop().
   */
  drain({ timeoutMs = 10_000 }: { timeoutMs?: number } = {}): Promise<void> {
    this.draining ??= (async () => {
      this.scheduler?.stop();
      this.sweeper?.stop();
      await this.worker?.stop(timeoutMs);
    })();
    return this.draining;
  }

  /** drain(), then closes the queue backend. */
  stop({ timeoutMs = 10_000 }: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.stopping ??= (async () => {
      await this.drain({ timeoutMs });
      this.open = false;
      await this.backend?.close();
      this.started = false;
      this.stopLifecycleLog?.();
    })();
    return this.stopping;
  }

  pipelines(): PipelineInfo[] {
    return this.registry.info();
  }

  /** Runs one pass of the retention sweeper now. */
  sweep(now?: number): Promise<number> {
    return this.sweeper!.sweepOnce(now);
  }

  /** Fires the schedules due at `tickAt` now (what the timer does each minute). */
  fireSchedules(tickAt: number): Promise<string[]> {
    return this.scheduler?.fire(tickAt) ?? Promise.resolve([]);
  }

  /**
   * A job from the jobs API (or code embedding Forja). Idempotency keys are stored in namespaces by
   * source (`api:`, `delivery:` for webhooks, `schedule:` for ticks), so a key sent to the jobs API
   * can never match a webhook delivery's or a schedule tick's. A repeated idempotency key returns the job it
   * made (`created: false`) when the input is the same, and is a conflict when it is not.
   */
  submit(request: SubmitRequest): Promise<{ job: JobRecord; created: boolean }> {
    const key = request.idempotencyKey;
    return this.enqueueJob(request, key === undefined ? undefined : `api:${checkIdempotencyKey(key, 'idempotencyKey')}`);
  }

  /** Validates and enqueues; `storedKey` is the idempotency key with its namespace. */
  private async enqueueJob(request: SubmitRequest, storedKey: string | undefined): Promise<{ job: JobRecord; created: boolean }> {
    const pipeline = this.registry.get(request.pipeline);
    if (!pipeline) throw errors.PIPELINE_NOT_FOUND(`pipeline "${request.pipeline}" not found`);
    let input: unknown = request.input ?? {};
    const schema = pipeline.definition.input;
    if (schema) {
      const parsed = schema.safeParse(input);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
        throw errors.PIPELINE_INPUT_INVALID(`input does not match the schema of pipeline "${pipeline.name}": ${issues.join('; ')}`);
      }
      input = parsed.data;
    }
    if (request.priority !== undefined && !(Number.isInteger(request.priority) && request.priority >= 0 && request.priority <= 2_097_152)) {
      throw errors.REQUEST_INVALID('priority must be an integer from 0 (most urgent) to 2097152');
    }
    checkDelay(request.delayMs);
    // Serialized once: the text measured against the limit is the text stored.
    const inputJson = JSON.stringify(input ?? null);
    const limit = pipeline.definition.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;
    const size = Buffer.byteLength(inputJson);
    if (size > limit) throw errors.REQUEST_TOO_LARGE(`input of ${size} bytes exceeds the limit of ${limit} bytes for pipeline "${pipeline.name}"`);
    const out = await this.backend.enqueue({
      id: randomUUID(), pipeline: pipeline.name, input, inputJson, priority: request.priority, delayMs: request.delayMs,
      idempotencyKey: storedKey, maxDeliveries: pipeline.definition.maxDeliveries,
    });
    if (!out.created && canonicalJson(out.job.input) !== canonicalJson(input)) {
      throw errors.JOB_IDEMPOTENCY_CONFLICT(
        `idempotency key "${storedKey}" was already used for job ${out.job.id} of pipeline "${pipeline.name}" with a different input; use a new key for a new input`,
        { details: { job_id: out.job.id } });
    }
    if (out.created) this.events.emit({ type: 'job:state', jobId: out.job.id, pipeline: pipeline.name, state: 'queued', at: out.job.createdAt });
    return out;
  }

  async get(id: string): Promise<JobView> {
    const job = await this.backend.get(id);
    if (!job) throw errors.JOB_NOT_FOUND(`job ${id} not found`);
    return toJobView(job, await this.backend.steps(id));
  }

  async list(filter: ListFilter): Promise<{ jobs: JobView[]; nextCursor?: string }> {
    const page = await this.backend.list(filter);
    return { jobs: page.jobs.map((j) => toJobView(j)), nextCursor: page.nextCursor };
  }

  async cancel(id: string): Promise<JobView> {
    const job = await this.backend.cancel(id);
    if (job.state === 'running') this.worker?.abortLocal(id, new AbortReason('cancelled', 'job cancelled'));
    if (job.state === 'cancelled') this.events.emit({ type: 'job:state', jobId: id, pipeline: job.pipeline, state: 'cancelled', at: Date.now() });
    return toJobView(job);
  }

  async retry(id: string): Promise<JobView> {
    const job = await this.backend.retry(id);
    this.events.emit({ type: 'job:state', jobId: id, pipeline: job.pipeline, state: 'queued', at: Date.now() });
    this.worker?.wake();
    return toJobView(job);
  }

  logs(id: string, afterSeq?: number, limit?: number): Promise<LogEntry[]> {
    return this.backend.logs(id, afterSeq, limit);
  }

  /** One page of a job's stored log: the lines after `after`, at most `limit`; JOB_NOT_FOUND for an unknown job. */
  async jobLogs(id: string, after = 0, limit = 100): Promise<{ logs: LogEntry[]; nextAfter: number }> {
    const [job, logs] = await Promise.all([this.backend.get(id), this.backend.logs(id, after, limit)]);
    if (!job) throw errors.JOB_NOT_FOUND(`job ${id} not found`);
    return { logs, nextAfter: logs.at(-1)?.seq ?? after };
  }

  counts(): Promise<JobCounts> {
    return this.backend.counts();
  }

  /** Whether jobs can be submitted and read now (the jobs readiness probe); the reason when not. */
  async ready(): Promise<{ ready: true } | { ready: false; error: ForjaError }> {
    if (!this.open) return { ready: false, error: errors.SHUTTING_DOWN('the pipeline service is starting or shutting down') };
    try {
      await this.backend.ping();
      return { ready: true };
    } catch (err) {
      return { ready: false, error: toForjaError(err) };
    }
  }

  subscribe(jobId: string | '*', listener: (event: JobEvent) => void): () => void {
    return this.events.subscribe(jobId, listener);
  }

  /** A webhook delivery (see webhook-receiver.ts). */
  receiveWebhook(name: string, rawBody: Buffer, headers: WebhookHeaders): Promise<{ job: JobRecord; created: boolean }> {
    return receiveWebhook({ registry: this.registry, metrics: this.metrics, enqueue: (request, key) => this.enqueueJob(request, key) }, name, rawBody, headers);
  }
}
