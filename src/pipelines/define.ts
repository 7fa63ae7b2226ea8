/**
 * The public pipeline API: `definePipeline` is a typed identity, so a plain object with the same
 * shape works too. A pipeline module's default export is one of these.
 */
import type { ZodType } from 'zod';
import type { ChatCompletion, ChatCompletionRequest, InferRequest, InferResponse, ModelCallOptions } from './model-calls.js';

export type { PipelineModels } from './model-calls.js';

/** How a step (or, by default, every step of a pipeline) is retried. Temporal's RetryPolicy, in ms. */
export interface RetryPolicy {
  /** Total tries including the first; 1 = no retry. Default 3. */
  attempts?: number;
  /** Delay before the first retry. Default 1,000 ms. */
  initialMs?: number;
  /** Multiplier applied to the delay after each retry. Default 2. */
  factor?: number;
  /** Upper bound on one delay. Default 100 × initialMs. */
  maxMs?: number;
  /** Full jitter: the delay is drawn uniformly between half and all of the computed value. Default true. */
  jitter?: boolean;
  /** Error names or codes (`err.name`, `err.code`) that fail at once instead of being retried. */
  nonRetryable?: string[];
}

export interface StepOptions {
  retry?: RetryPolicy;
  /** Per attempt; enforced by aborting the signal the step receives. */
  timeoutMs?: number;
}

/** What a step function receives. */
export interface StepTools<C = unknown> {
  /** Aborted on timeout, cancellation, lost lease or shutdown deadline. */
  signal: AbortSignal;
  /** 1 for the first try of this step, counted across job deliveries. */
  attempt: number;
  /** The last checkpoint this step saved, in any earlier attempt or delivery. */
  checkpoint: C | undefined;
  /** Stores a checkpoint durably (JSON); the next attempt of this step is handed it. */
  saveCheckpoint(data: C): Promise<void>;
  /** Reports progress of the job, 0..1, with an optional message. */
  progress(fraction: number, message?: string): void;
  log(message: string, data?: unknown): void;
}

export interface JobInfo {
  id: string;
  pipeline: string;
  /**
   * This delivery's number, counted across retries (the job's `attempts` in the API): 1 on the first
   * delivery; a re-delivery after a crash or a lost lease and a retry (POST /api/jobs/{id}/retry)
   * each add one, a shutdown's hand-back does not. `maxDeliveries` still applies to each run alone.
   */
  attempt: number;
}

export interface PipelineContext {
  job: JobInfo;
  /** Aborted on cancellation, pipeline timeout, lost lease or shutdown deadline. */
  signal: AbortSignal;
  /** Runs a named step once: a stored result is returned instead of running it again. */
  step<T>(name: string, fn: (tools: StepTools) => T | Promise<T>, options?: StepOptions): Promise<T>;
  progress(fraction: number, message?: string): void;
  log(message: string, data?: unknown): void;
  /**
   * Runs a model of this process's repository, in process: the body of `POST /v2/models/{model}/infer`
   * in, the v2 JSON response out (`outputs[i].data` flat).
   */
  infer(model: string, request: InferRequest, options?: ModelCallOptions): Promise<InferResponse>;
  /**
   * Chats with a language model of this process's repository (GGUF or external backend): the body of
   * `POST /v1/chat/completions` without `model` in, the same `chat.completion` object out
   * (`reply.choices[0].message.content`).
   */
  chat(model: string, request: ChatCompletionRequest, options?: ModelCallOptions): Promise<ChatCompletion>;
}

export interface ScheduleOptions {
  /** Five-field cron (minute hour day-of-month month day-of-week), or @daily, @hourly … */
  cron: string;
  /** IANA time zone the cron fields are read in, e.g. "Europe/Madrid". Default "UTC". */
  tz?: string;
  /** Input of each scheduled job; default `{}`. */
  input?: unknown;
}

export interface WebhookOptions {
  /** Name of the environment variable holding the HMAC secret. */
  secretEnv?: string;
  /** Accept deliveries without a signature. Only ever set this on purpose. */
  allowUnsigned?: boolean;
}

export interface RetentionOptions {
  /** Finished jobs older than this are removed. Default 7 days. */
  maxAgeMs?: number;
  /** At most this many finished jobs are kept per pipeline. Default 10,000. */
  maxCount?: number;
}

export interface PipelineDefinition<I = unknown, O = unknown> {
  /** Default: the module's file name without extension. */
  name?: string;
  input?: ZodType<I>;
  /** Default retry policy of every step of this pipeline. */
  retry?: RetryPolicy;
  /** Wall-clock limit of one run (one delivery) of the whole pipeline. */
  timeoutMs?: number;
  /** Most jobs of this pipeline running at once, across all workers. */
  concurrency?: number;
  /** Times a job may be delivered (crashes included) before it is failed. Default 10. */
  maxDeliveries?: number;
  schedule?: string | ScheduleOptions;
  webhook?: WebhookOptions;
  retention?: RetentionOptions;
  /** Largest accepted input, JSON-encoded. Default 1 MiB. */
  maxInputBytes?: number;
  run(input: I, ctx: PipelineContext): O | Promise<O>;
}

/** Typed identity: gives editors the types; returns the definition unchanged. */
export function definePipeline<I = unknown, O = unknown>(definition: PipelineDefinition<I, O>): PipelineDefinition<I, O> {
  return definition;
}

/** Throw this from a step to fail the job at once, without retries. */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}
