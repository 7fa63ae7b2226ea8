/**
 * model.yaml: per-model settings that sit next to the model (DIR/<name>/model.yaml).
 * Every key is optional; what is missing is read from the model file or from the server config.
 */
import { z } from 'zod';

export const executionProviderSchema = z.enum(['cuda', 'cpu']);

export const modelConfigSchema = z.object({
  /** Largest batch the dynamic batcher forms; 0 turns batching off. Default: server config. */
  max_batch_size: z.number().int().min(0).max(4096).optional(),
  /** How long the first request of a batch waits for company. */
  max_queue_delay_ms: z.number().min(0).max(10_000).optional(),
  /** Batch sizes the batcher prefers to cut at when more requests wait. */
  preferred_batch_sizes: z.array(z.number().int().min(1)).optional(),
  /** Requests waiting per model version before new ones are answered 503. */
  max_queue_size: z.number().int().min(1).optional(),
  /** Sessions (ONNX) run side by side; lets a fixed-batch model serve clients concurrently. */
  instances: z.number().int().min(1).max(64).optional(),
  /** ONNX: worker threads, inline on the main thread, or auto (inline when a timed warm-up is under 0.3 ms). */
  execution: z.enum(['auto', 'worker', 'inline']).optional(),
  /** Intra-op threads (ONNX) or decode threads (GGUF). */
  threads: z.number().int().min(1).max(256).optional(),
  /** Execution providers in order of preference. */
  execution_providers: z.array(executionProviderSchema).min(1).optional(),
  /** Seconds an idle model stays loaded; -1 forever, 0 unload when idle. */
  keep_alive: z.number().int().min(-1).optional(),
  default_version: z.union([z.string(), z.number()]).transform(String).optional(),
  /** Load at start (eager) or on first request (lazy). */
  load: z.enum(['eager', 'lazy']).optional(),
  /** Run the model once on load with zero inputs of batch 1. */
  warmup: z.boolean().optional(),
  /** Bytes to account for this model instead of the estimate. */
  memory_bytes: z.number().int().positive().optional(),
  /** Per-request timeout in milliseconds. */
  timeout_ms: z.number().int().positive().optional(),
  /**
   * A stateful model (Triton's sequence batcher with implicit state): Forja keeps each session's
   * state tensors between steps, so clients send only the other inputs. See docs/streaming.md.
   */
  sequence: z.object({
    state: z.array(z.object({
      /** The model input that takes the state. */
      input: z.string().min(1),
      /** The model output that holds the next state. */
      output: z.string().min(1),
      /** The dimension along which sessions are stacked in a batch (silero VAD's state: 1). */
      batch_axis: z.number().int().min(0).default(0),
      init: z.literal('zeros').default('zeros'),
    }).strict()).min(1),
    /** Seconds a session may sit idle before its state is freed. */
    idle_timeout_s: z.number().positive().default(60),
    /** Sequences named by REST and gRPC requests open at once; a start beyond it is answered 503 (WebSocket sessions are bounded by server.max_stream_connections). */
    max_sequences: z.number().int().min(1).default(1000),
  }).strict().optional(),
  // GGUF language models
  /** Parallel sequences of the one context. */
  parallel: z.number().int().min(1).max(64).optional(),
  context_size: z.number().int().min(16).optional(),
  /** GGUF: requests waiting for a free sequence before 429. */
  max_waiting: z.number().int().min(0).optional(),
  /** External OpenAI-compatible backend instead of a file. */
  backend: z.object({
    type: z.enum(['llama-server', 'openai']),
    /** openai: base URL of the upstream (…/v1). */
    url: z.string().url().optional(),
    /** llama-server: path of the binary Forja starts. */
    binary: z.string().optional(),
    /** llama-server: model file it serves. */
    model: z.string().optional(),
    /** Name of an environment variable holding the upstream's API key. */
    api_key_env: z.string().optional(),
    args: z.array(z.string()).optional(),
  }).strict().optional(),
}).strict();

export type ModelConfig = z.infer<typeof modelConfigSchema>;
