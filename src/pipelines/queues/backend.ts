/**
 * The one storage interface both queues implement (SQLite embedded, Redis via BullMQ). The shared
 * conformance suite in test/pipelines/queues/ pins its behaviour.
 *
 * Job state machine (every transition is one atomic storage operation):
 *
 *   queued ──claim──▶ running ──complete──▶ succeeded
 *     ▲  │              │  │ ──fail────────▶ failed
 *     │  │              │  └─cancel ack────▶ cancelled
 *     │  └─cancel──▶ cancelled               │
 *     │                 │ lease expired      │
 *     └──── (reclaim) ◀─┘ / release          │
 *     └──────────────── retry ◀──────────────┘ (failed | cancelled)
 *
 * A claim hands out a fencing token; every write a worker makes about a job (step results,
 * checkpoints, progress, completion) carries it, and storage refuses the write when the job is
 * no longer running under that token, so a stale worker cannot complete a job another owns.
 */

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
export const FINISHED_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

/**
 * Jobs by state, as the `forja_pipeline_jobs` gauge and the dashboard show them: `queued` counts the
 * queued jobs that are due, `delayed` the queued jobs still waiting out their `delayMs` (so a backlog
 * alert on `queued` does not fire for jobs planned for later).
 */
export type CountedState = JobState | 'delayed';
export const COUNTED_STATES: readonly CountedState[] = ['queued', 'delayed', 'running', 'succeeded', 'failed', 'cancelled'];
export type JobCounts = Record<CountedState, number>;

/**
 * running: an attempt is under way; retrying: waiting out the backoff after a failed attempt;
 * cancelled: the job was cancelled while the step ran or waited.
 */
export type StepState = 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';

export interface JobError {
  message: string;
  name?: string;
  code?: string;
  stack?: string;
  /** The step that failed, when a step failed the job. */
  step?: string;
}

export interface StepRecord {
  name: string;
  state: StepState;
  /** Tries so far, across deliveries. */
  attempts: number;
  result?: unknown;
  error?: JobError;
  checkpoint?: unknown;
  startedAt?: number;
  finishedAt?: number;
}

export interface JobRecord {
  id: string;
  pipeline: string;
  state: JobState;
  input: unknown;
  priority: number;
  idempotencyKey?: string;
  /** Deliveries so far, across retries (1 after the first claim); a shutdown's hand-back does not count. */
  attempts: number;
  /** Deliveries one run may take (crashes included); a retry starts a new run. */
  maxDeliveries: number;
  createdAt: number;
  /** Not before this time (delays, retries). */
  runAt: number;
  /** When the latest delivery started; none while queued after a retry. */
  startedAt?: number;
  finishedAt?: number;
  cancelRequested: boolean;
  progress?: number;
  progressMessage?: string;
  result?: unknown;
  error?: JobError;
}

export interface EnqueueRequest {
  id: string;
  pipeline: string;
  input: unknown;
  /** Lower runs first, as in BullMQ; 0 (default) is the most urgent. */
  priority?: number;
  delayMs?: number;
  idempotencyKey?: string;
  maxDeliveries?: number;
  /** The input as JSON text, when the caller has it already (the service measures it): stored as it is, not serialized again. */
  inputJson?: string;
}

/** A job handed to one worker, with the token that fences its writes. */
export interface Lease {
  jobId: string;
  pipeline: string;
  token: string;
}

export interface LeasedJob extends Lease {
  input: unknown;
  attempts: number;
  createdAt: number;
  runAt: number;
  /** True when no step can be stored yet (first delivery, never retried): skip loading steps. */
  fresh: boolean;
}

/** What a heartbeat learns about one lease. */
export type LeaseStatus = 'ok' | 'lost' | 'cancel';

export interface ListFilter {
  pipeline?: string;
  state?: JobState;
  limit?: number;
  /** Opaque, from the previous page's nextCursor. */
  cursor?: string;
}

export interface JobPage {
  jobs: JobRecord[];
  nextCursor?: string;
}

export interface RetentionPolicy {
  maxAgeMs: number;
  maxCount: number;
}

export interface LogEntry {
  /** Increases within a job; a page's last seq is where the next page starts (`afterSeq`). */
  seq: number;
  at: number;
  message: string;
  data?: unknown;
  /** Set on the marker that ends a job's log once it holds MAX_LOG_LINES lines. */
  truncated?: boolean;
}

/**
 * Lines stored per job, all its runs together (the log goes with the job when retention removes
 * it). The last one stored is a marker saying that later lines were dropped.
 */
export const MAX_LOG_LINES = 1000;
export const LOG_TRUNCATED_MESSAGE = `log truncated: this job reached ${MAX_LOG_LINES} lines; later lines are not stored`;
/** Most lines one logs() call returns. */
export const MAX_LOG_PAGE = 1000;

export interface QueueBackend {
  readonly kind: 'sqlite' | 'redis';
  init(pipelines: { name: string; concurrency?: number }[]): Promise<void>;
  close(): Promise<void>;
  /**
   * Resolves when the storage answers requests now. Every request-side call (enqueue, reads, cancel,
   * retry, ping) fails within a bounded time when storage cannot serve, with FORJA_ERR_QUEUE_UNAVAILABLE
   * or FORJA_ERR_STORAGE_FULL, and an enqueue that failed so never creates the job later.
   */
  ping(): Promise<void>;

  /** Adds a job; with an idempotency key already used for this pipeline, returns that job instead. */
  enqueue(request: EnqueueRequest): Promise<{ job: JobRecord; created: boolean }>;
  /** Adds many jobs in one storage operation (bulk loads); idempotency keys are honoured as by enqueue. */
  enqueueMany(requests: EnqueueRequest[]): Promise<void>;
  /**
   * Calls `listener` when a job becomes claimable through this backend object (enqueue, retry,
   * release, or a job fetched ahead), so workers in this process claim it at once; workers in other
   * processes find it by polling. Returns the function that removes the listener.
   */
  onEnqueued(listener: (pipeline: string) => void): () => void;
  get(id: string): Promise<JobRecord | undefined>;
  list(filter: ListFilter): Promise<JobPage>;
  steps(id: string): Promise<StepRecord[]>;
  /** The job's log lines after `afterSeq` (default 0: from the start), at most `limit` (default and most MAX_LOG_PAGE). */
  logs(id: string, afterSeq?: number, limit?: number): Promise<LogEntry[]>;
  counts(): Promise<JobCounts>;

  /**
   * Leases up to `slots[pipeline]` due jobs of each pipeline, highest priority first, honouring
   * each pipeline's concurrency across all workers, and at most `max` in all (pipelines are served
   * in the map's order); re-delivers jobs whose lease expired.
   */
  claim(workerId: string, slots: Map<string, number>, leaseMs: number, max: number): Promise<LeasedJob[]>;
  /**
   * Makes the running jobs of these pipelines whose lease owner (the `workerId` of the claim) `isDead`
   * declares dead claimable at once, as if their leases had expired (the delivery counts): a node that
   * restarts after a crash takes back its previous process's jobs. Returns how many.
   */
  reclaimLeases(pipelines: string[], isDead: (owner: string) => boolean): Promise<number>;
  /** Extends leases; reports the ones lost to another worker and the ones asked to cancel. */
  heartbeat(leases: Lease[], leaseMs: number): Promise<LeaseStatus[]>;
  /** Each returns false when the lease is no longer held (the write was fenced off). */
  complete(lease: Lease, result: unknown): Promise<boolean>;
  fail(lease: Lease, error: JobError): Promise<boolean>;
  /** Records that a running job stopped because it was cancelled. */
  markCancelled(lease: Lease): Promise<boolean>;
  /** Gives a job back (shutdown): queued again at once, steps kept. */
  release(lease: Lease): Promise<boolean>;
  saveStep(lease: Lease, step: StepRecord): Promise<boolean>;
  saveCheckpoint(lease: Lease, stepName: string, checkpoint: unknown): Promise<boolean>;
  setProgress(lease: Lease, progress: number, message?: string): Promise<boolean>;
  /** Stores one log line (past MAX_LOG_LINES it is dropped, still true); false when the lease is gone. */
  appendLog(lease: Lease, message: string, data?: unknown): Promise<boolean>;

  /** queued → cancelled at once; running → cancel requested (the worker acknowledges). */
  cancel(id: string): Promise<JobRecord>;
  /** failed | cancelled → queued, keeping completed steps and checkpoints. */
  retry(id: string): Promise<JobRecord>;

  /** True for exactly one caller per (schedule key, tick), across processes and restarts. */
  claimScheduleTick(key: string, tickAt: number): Promise<boolean>;
  /** Removes finished jobs past retention; returns how many. */
  sweep(pipeline: string, policy: RetentionPolicy, now?: number): Promise<number>;
}
