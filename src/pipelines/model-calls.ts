/**
 * The types of ctx.infer and ctx.chat: the request and response bodies of the HTTP APIs, so code
 * written against `POST /v2/models/{m}/infer` or `POST /v1/chat/completions` moves into a pipeline
 * unchanged (and back).
 */
import type { Datatype } from '../inference/types.js';

export type InferDatatype = Datatype;
/** One element of JSON tensor data: BOOL as booleans, BYTES as strings, every other type as numbers. */
export type TensorValue = number | string | boolean;

/** An input tensor in v2 JSON form; `data` is row-major, flat or nested. */
export interface InferInputTensor {
  name: string;
  datatype: InferDatatype;
  shape: number[];
  data: unknown[];
  parameters?: Record<string, unknown>;
}

/** The body of `POST /v2/models/{model}/infer`, plus an optional version. */
export interface InferRequest {
  id?: string;
  /** A version of the model; default: the newest. */
  version?: string;
  inputs: InferInputTensor[];
  /** The outputs to compute; default: all. */
  outputs?: { name: string; parameters?: Record<string, unknown> }[];
  parameters?: Record<string, unknown>;
}

export interface InferOutputTensor {
  name: string;
  datatype: InferDatatype;
  shape: number[];
  /** Flat, row-major. */
  data: TensorValue[];
}

/** The JSON answer of the v2 infer route. */
export interface InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: InferOutputTensor[];
}

export interface ChatMessageParam {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string | { type: 'text'; text: string }[] | null;
  name?: string;
}

export type ChatResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema?: Record<string, unknown>; strict?: boolean | null; description?: string } };

/**
 * The body of `POST /v1/chat/completions` without `model` (ctx.chat's first argument names it)
 * and without `stream` (ctx.chat answers once, with the whole completion).
 */
export interface ChatCompletionRequest {
  messages: ChatMessageParam[];
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  response_format?: ChatResponseFormat | null;
}

export type ChatFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** The `chat.completion` object the HTTP API answers (an external backend's own answer, as it sent it). */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  /** Unix seconds. */
  created: number;
  model: string;
  system_fingerprint: string | null;
  choices: {
    index: number;
    message: { role: 'assistant'; content: string | null; refusal: string | null };
    logprobs: null;
    finish_reason: ChatFinishReason;
  }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; prompt_tokens_details?: { cached_tokens: number } };
}

export interface ModelCallOptions {
  /** Aborts the call; default: the job's own signal (cancellation, timeout, shutdown). */
  signal?: AbortSignal;
}

/** The model calls a pipeline may make; the server injects the real model manager. */
export interface PipelineModels {
  infer(model: string, request: InferRequest, options?: ModelCallOptions): Promise<InferResponse>;
  chat(model: string, request: ChatCompletionRequest, options?: ModelCallOptions): Promise<ChatCompletion>;
}
