/**
 * Shared types of the inference layer. Protocols speak these; backends implement one member of LoadedModel.
 * Nothing here knows HTTP.
 */

import type { Datatype, TypedArray } from './datatypes.js';

export { DATATYPES, type Datatype } from './datatypes.js';

export type TensorData = TypedArray | string[];

/** A tensor in Forja's own terms: flat data, row-major shape. */
export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

/** One input or output as read from a model file; -1 marks a dynamic dimension. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}

export type ModelKind = 'onnx' | 'llm';
export type Device = 'cpu' | 'gpu';

/** What every loaded model version has, whatever its backend. */
export interface LoadedModelBase {
  readonly kind: ModelKind;
  readonly device: Device;
  /** Bytes this model is accounted for in the memory budget. */
  readonly memoryBytes: number;
  unload(): Promise<void>;
}

/** A loaded model that runs tensors (ONNX). */
export interface TensorModel extends LoadedModelBase {
  readonly kind: 'onnx';
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  /** True when every input and output has a dynamic first dimension. */
  readonly batchable: boolean;
  /** Where runs happen, when the backend chooses (ONNX: inline on the main thread or on worker threads). */
  readonly execution?: 'inline' | 'threads';
  /**
   * Runs the model. With `transferInputs` the caller gives up the input buffers: a worker-thread
   * backend may move them instead of copying (the typed arrays are unusable afterwards).
   */
  run(inputs: Tensor[], outputNames?: string[], options?: { transferInputs?: boolean }): Promise<Tensor[]>;
  /**
   * A buffer of at least `bytes` for a batch's concatenated input, when the backend keeps its own
   * (reused across runs); undefined when a fresh array serves as well.
   */
  allocateInput?(bytes: number): ArrayBuffer | undefined;
}

/** One version of one model as found in the repository, ready to hand to a loader. */
export interface ModelVersionSource {
  name: string;
  version: string;
  /** Absolute path of the model file; '' for an external backend. */
  path: string;
  format: 'onnx' | 'gguf' | 'external';
  config: import('./model-config.js').ModelConfig;
}

/** Creates LoadedModels of one format; the manager is handed one loader per format. */
export interface ModelLoader {
  estimateMemory(source: ModelVersionSource): Promise<number>;
  load(source: ModelVersionSource, options: { preferGpu: boolean; signal?: AbortSignal }): Promise<LoadedModel>;
}

// ---- Language models: GGUF files run in process, or external OpenAI-compatible servers ----

export type ChatRole = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; schema: Record<string, unknown> };

/** One generation, in the engine's terms (protocols translate their own parameters into this). */
export interface GenerationRequest {
  /** A raw prompt (completions) or chat messages rendered with the model's own template. */
  prompt: string | ChatMessage[];
  /** Default: up to the end of the context. */
  maxTokens?: number;
  /** 0 is greedy. Default 1. */
  temperature?: number;
  topP?: number;
  /** Sample among the k most likely tokens only; 0 or absent: no limit. */
  topK?: number;
  seed?: number;
  stop?: string[];
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseFormat?: ResponseFormat;
}

export type FinishReason = 'stop' | 'length';

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens reused from the prompt-prefix cache instead of decoded again (part of promptTokens). */
  cachedTokens?: number;
}

export interface GenerationResult {
  text: string;
  finishReason: FinishReason;
  usage: TokenUsage;
}

export type GenerationEvent =
  | { type: 'text'; text: string }
  | { type: 'end'; finishReason: FinishReason; usage: TokenUsage };

/**
 * A generation that was admitted (validated, tokenized, given a sequence or a place in the
 * queue). Iterating it yields text deltas and one final 'end' event; aborting the signal given
 * to `start` ends it and frees its sequence.
 */
export interface Generation extends AsyncIterable<GenerationEvent> {
  readonly promptTokens: number;
}

export interface LanguageModelInfo {
  architecture: string;
  /** Tokens per sequence. */
  contextSize: number;
  trainContextSize: number;
  /** Sequences generated side by side. */
  parallel: number;
  threads: number;
  embeddingSize: number;
  /** Name of the chat template in use (the GGUF's own, or the fallback). */
  chatTemplate: string;
}

export interface Embeddings {
  vectors: Float32Array[];
  promptTokens: number;
}

/** A GGUF language model run in this process. */
export interface LanguageModel extends LoadedModelBase {
  readonly kind: 'llm';
  readonly backend: 'local';
  readonly info: LanguageModelInfo;
  tokenize(text: string): number[];
  /** Validates and admits; throws CONTEXT_LENGTH_EXCEEDED, LLM_QUEUE_FULL, BAD_REQUEST … before any token. */
  start(request: GenerationRequest, signal?: AbortSignal): Promise<Generation>;
  /** start() and collect. */
  complete(request: GenerationRequest, signal?: AbortSignal): Promise<GenerationResult>;
  embed(inputs: string[], signal?: AbortSignal): Promise<Embeddings>;
}

/** An OpenAI-compatible server (llama-server, vLLM …) that Forja proxies to. */
export interface ProxyLanguageModel extends LoadedModelBase {
  readonly kind: 'llm';
  readonly backend: 'external';
  /** Sends an OpenAI API body to the upstream (`path` relative to its /v1) and returns its response untouched. */
  forward(path: '/chat/completions' | '/completions' | '/embeddings', body: Record<string, unknown>, signal: AbortSignal): Promise<Response>;
}

export type LlmModel = LanguageModel | ProxyLanguageModel;

/**
 * What the model manager holds for a loaded model version, one member per backend: ONNX
 * (`kind: 'onnx'`), GGUF run here (`kind: 'llm', backend: 'local'`) and an OpenAI-compatible
 * upstream (`kind: 'llm', backend: 'external'`). Checking `kind` (then `backend`) narrows it, so no
 * caller casts.
 */
export type LoadedModel = TensorModel | LlmModel;

export function isTensorModel(model: LoadedModel): model is TensorModel {
  return model.kind === 'onnx';
}

export function isLanguageModel(model: LoadedModel): model is LlmModel {
  return model.kind === 'llm';
}

/** What a GGUF file says about itself (read by our own header reader), for listings such as Ollama's. */
export interface GgufFacts {
  architecture: string;
  /** general.parameter_count, else the sum of the tensors' elements. */
  parameterCount: number;
  /** llama.cpp's name of general.file_type (`Q4_0`, `F16` …); `unknown` when absent or new. */
  quantization: string;
  /** Dotted metadata keys to values; arrays longer than `arrayLimit` are left empty unless asked for. */
  metadata(options?: { fullArrays?: boolean }): Record<string, unknown>;
  /** tokenizer.chat_template, when the file has one. */
  chatTemplate?: string;
  fileBytes: number;
  modifiedAt: Date;
  /** Hex SHA-256 of the whole file. */
  sha256(): Promise<string>;
}
