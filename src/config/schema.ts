/**
 * The server configuration: every key, its type and its default, in one place.
 * docs/configuration.md is generated from nothing: it documents these same keys by hand and
 * test/config/schema.test.ts checks that every key here appears there.
 */
import { z } from 'zod';
import { executionProviderSchema } from '../inference/model-config.js';
import { NODE_ID_PATTERN } from '../pipelines/process-identity.js';

const serverSchema = z.object({
  /** Address to bind; loopback by default so nothing is exposed by accident. */
  host: z.string().min(1).default('127.0.0.1'),
  /** Port to listen on; 0 picks a free one. */
  port: z.number().int().min(0).max(65535).default(8080),
  /** Port for the Open Inference Protocol over gRPC; unset leaves gRPC off, 0 picks a free one. */
  grpc_port: z.number().int().min(0).max(65535).optional(),
  /** WebSocket streams (GET /v2/models/{m}/stream) open at once; more are answered 503. */
  max_stream_connections: z.number().int().min(1).default(1000),
  /** Largest request body accepted; bigger ones get 413. */
  body_limit_bytes: z.number().int().positive().default(64 * 1024 * 1024),
  /** How long SIGTERM waits for in-flight work before exiting anyway. */
  shutdown_timeout_ms: z.number().int().positive().default(30_000),
  /**
   * After SIGTERM, keep the listener open and serving at least this long (readiness already 503), for
   * load balancers that still route here while they notice (Kubernetes takes a few seconds).
   */
  drain_delay_ms: z.number().int().nonnegative().default(0),
  /** Log one line per request (at info level). */
  access_log: z.boolean().default(false),
}).strict();

const modelsSchema = z.object({
  /** The model repository. */
  dir: z.string().min(1).default('./models'),
  /** eager: load every model at start; lazy: on first request. */
  load: z.enum(['eager', 'lazy']).default('eager'),
  /** Memory budget in bytes for all loaded models; unset means memory_budget_fraction of free RAM at start. */
  memory_budget_bytes: z.number().int().positive().optional(),
  memory_budget_fraction: z.number().gt(0).max(1).default(0.7),
  /** Seconds an idle model stays loaded; -1 keeps it until memory is needed. */
  keep_alive: z.number().int().min(-1).default(-1),
  /** Dynamic batching defaults, overridden per model in model.yaml. */
  max_batch_size: z.number().int().min(0).max(4096).default(32),
  max_queue_delay_ms: z.number().min(0).max(10_000).default(0),
  max_queue_size: z.number().int().min(1).default(1024),
  instances: z.number().int().min(1).max(64).default(1),
  /** ONNX sessions run on worker threads (the event loop never waits on compute), inline on the main thread, or auto: inline when a timed warm-up shows the model computes in under 0.3 ms. */
  execution: z.enum(['auto', 'worker', 'inline']).default('auto'),
  /** Threads per model unless model.yaml sets them: ONNX intra-op threads (unset: 1, which holds up best when the HTTP loop shares the cores) and GGUF decode threads (unset: cores - 1). */
  threads: z.number().int().min(1).max(256).optional(),
  /** Let onnxruntime's threads spin between runs (faster alone, slower beside the event loop). */
  spinning: z.boolean().default(false),
  /** auto: CUDA first when this build and machine have it, then CPU. */
  execution_providers: z.union([z.literal('auto'), z.array(executionProviderSchema).min(1)]).default('auto'),
  /** Per-request timeout in milliseconds, queue wait included. */
  timeout_ms: z.number().int().positive().default(30_000),
}).strict();

const pipelinesSchema = z.object({
  /** Directory of pipeline modules; unset means no pipelines. */
  dir: z.string().min(1).optional(),
  /** sqlite: embedded, no service needed; redis: BullMQ for many machines. */
  backend: z.enum(['sqlite', 'redis']).default('sqlite'),
  redis_url: z.string().default('redis://127.0.0.1:6379'),
  /** Prefix of every Redis key, so several Forja installations can share one Redis. */
  redis_prefix: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ -').default('forja'),
  /** Run jobs in this process; false serves the jobs API only and leaves the jobs to `forja worker` processes. */
  run_jobs: z.boolean().default(true),
  /** How long a jobs API request waits for Redis before answering 503 (FORJA_ERR_QUEUE_UNAVAILABLE). */
  backend_timeout_ms: z.number().int().positive().default(3000),
  /** On SIGTERM/SIGINT, how long running steps may finish before their signal is aborted and the job handed back. */
  shutdown_grace_ms: z.number().int().nonnegative().default(10_000),
  /** This node's stable id, for taking back a crashed predecessor's jobs at once; default: kept in the data directory. */
  node_id: z.string().regex(NODE_ID_PATTERN, 'letters, digits, ".", "_" and "-" only (at most 128)').optional(),
}).strict();

const dataSchema = z.object({
  /** Where job state and other files live. */
  dir: z.string().min(1).default('./.forja'),
}).strict();

/** Objectives `forja bench load` checks a load run against (flags override them). */
const sloSchema = z.object({
  /** 95th percentile latency ceiling of successful requests, in milliseconds. */
  p95_ms: z.number().positive().default(100),
  /** 99th percentile latency ceiling, in milliseconds. */
  p99_ms: z.number().positive().default(250),
  /** Largest fraction of failed requests (non-2xx, timeouts, connection errors): 0.01 is 1%. */
  error_rate: z.number().min(0).max(1).default(0.01),
}).strict();

const logSchema = z.object({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json`: one JSON object per line; `pretty`: for people at a terminal; `auto`: pretty when stdout is a TTY. */
  format: z.enum(['auto', 'pretty', 'json']).default('auto'),
}).strict();

const securitySchema = z.object({
  /** Environment variable holding API keys (`name:secret:scope+scope`, comma or newline separated); keys never live in a config file. */
  api_keys_env: z.string().min(1).default('FORJA_API_KEYS'),
  /** A file of API keys in the same format, one per line. */
  api_keys_file: z.string().min(1).optional(),
  /** Without keys Forja refuses to bind a non-loopback address unless this is true. */
  allow_unauthenticated_remote: z.boolean().default(false),
  /** Browser origins allowed to call the API (CORS); empty sends no CORS headers. */
  cors_origins: z.array(z.string().min(1)).default([]),
  /** Requests per minute per API key (or per client IP without a key); 0 turns limiting off. */
  rate_limit: z.object({ requests_per_minute: z.number().int().min(0).default(0) }).strict().default(() => ({ requests_per_minute: 0 })),
}).strict();

export const configSchema = z.object({
  server: serverSchema.default(() => serverSchema.parse({})),
  models: modelsSchema.default(() => modelsSchema.parse({})),
  pipelines: pipelinesSchema.default(() => pipelinesSchema.parse({})),
  data: dataSchema.default(() => dataSchema.parse({})),
  slo: sloSchema.default(() => sloSchema.parse({})),
  log: logSchema.default(() => logSchema.parse({})),
  security: securitySchema.default(() => securitySchema.parse({})),
}).strict();

export type ForjaConfig = z.infer<typeof configSchema>;
/** What a config file may hold: every section and key optional. */
export type ConfigInput = z.input<typeof configSchema>;
