/**
 * Request bodies of the Ollama routes, validated once at the boundary and turned into the engine's
 * GenerationRequest. `options` map onto sampling where the engine has the setting; settings fixed
 * when a model loads, or that do not change the output, are accepted and ignored; sampling
 * settings the engine lacks answer 400 naming the option unless set to their no-op value, as do
 * unknown fields and options (never silently ignored). docs/ollama.md lists each.
 */
import { z } from 'zod';
import { errors } from '../../errors.js';
import type { ChatMessage, GenerationRequest, ResponseFormat } from '../../inference/types.js';
import { keepAliveSeconds } from './keep-alive.js';

const MAX_STOP_LENGTH = 256;
const MAX_STOPS = 16;
/** As the OpenAI embeddings route allows. */
const MAX_EMBEDDING_INPUTS = 2048;

/** Sampling options the engine does not have, allowed only at the value that changes nothing. */
const NO_OP_VALUES: Record<string, number> = { repeat_penalty: 1, min_p: 0, typical_p: 1, tfs_z: 1, mirostat: 0 };
/** Load-time, hardware and context-shift settings: fixed when the model loads, ignored per request. */
const IGNORED_OPTIONS = [
  'numa', 'num_batch', 'num_gpu', 'main_gpu', 'low_vram', 'f16_kv', 'logits_all', 'vocab_only', 'use_mmap', 'use_mlock',
  'embedding_only', 'num_thread', 'num_keep', 'repeat_last_n', 'penalize_newline', 'mirostat_tau', 'mirostat_eta',
] as const;

const options = z.object({
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  seed: z.number().int().optional(),
  num_predict: z.number().int().min(-2).optional(),
  stop: z.array(z.string().max(MAX_STOP_LENGTH)).max(MAX_STOPS).optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  num_ctx: z.number().int().min(1).optional(),
  ...Object.fromEntries(Object.keys(NO_OP_VALUES).map((name) => [name, z.number().optional()])),
  ...Object.fromEntries(IGNORED_OPTIONS.map((name) => [name, z.unknown().optional()])),
}).strict();

export type OllamaOptions = z.infer<typeof options>;

const keepAlive = z.union([z.number(), z.string()]).nullish();
const format = z.union([z.string(), z.record(z.string(), z.unknown())]).nullish();
const images = z.array(z.string()).nullish();

const streamingFields = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  format,
  options: options.nullish(),
  keep_alive: keepAlive,
  // Answered in Ollama's shape only when they ask for nothing: these models neither think nor return logprobs.
  think: z.union([z.boolean(), z.string()]).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().nullish(),
};

export const generateSchema = z.object({
  ...streamingFields,
  prompt: z.string().nullish(),
  suffix: z.string().nullish(),
  system: z.string().nullish(),
  template: z.string().nullish(),
  context: z.array(z.number()).nullish(),
  raw: z.boolean().nullish(),
  images,
}).strict();

const message = z.object({
  role: z.string(),
  content: z.string().nullish(),
  images,
  thinking: z.string().nullish(),
  tool_calls: z.array(z.unknown()).nullish(),
  tool_name: z.string().nullish(),
}).strict();

export const chatSchema = z.object({
  ...streamingFields,
  messages: z.array(message).nullish(),
  tools: z.array(z.unknown()).nullish(),
}).strict();

export const embedSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(MAX_EMBEDDING_INPUTS)]),
  truncate: z.boolean().nullish(),
  dimensions: z.number().int().nullish(),
  options: options.nullish(),
  keep_alive: keepAlive,
}).strict();

export const embeddingsSchema = z.object({
  model: z.string().min(1),
  prompt: z.string(),
  options: options.nullish(),
  keep_alive: keepAlive,
}).strict();

export const showSchema = z.object({
  model: z.string().min(1).optional(),
  /** The older field name, still sent by some clients. */
  name: z.string().min(1).optional(),
  verbose: z.boolean().nullish(),
  system: z.string().nullish(),
  template: z.string().nullish(),
  options: z.record(z.string(), z.unknown()).nullish(),
}).strict();

export function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw errors.REQUEST_INVALID('the request body must be a JSON object');
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue.path.map(String).join('.').replace(/\.(\d+)/g, '[$1]') || undefined;
  if (issue.code === 'unrecognized_keys') {
    const where = param ? `${param}.` : '';
    throw errors.REQUEST_INVALID(`unknown field ${issue.keys.map((k) => where + k).join(', ')}`, { param: where + issue.keys[0] });
  }
  throw errors.REQUEST_INVALID(param ? `invalid ${param}: ${issue.message}` : issue.message, { param });
}

function unsupported(param: string, why: string): never {
  throw errors.LLM_UNSUPPORTED_PARAMETER(`${param} is not supported by this server: ${why}`, { param });
}

/** What the engine takes from `options`; num_ctx is checked against the loaded model later. */
function sampling(o: OllamaOptions | null | undefined): Omit<GenerationRequest, 'prompt'> {
  if (!o) return {};
  for (const [name, noOp] of Object.entries(NO_OP_VALUES)) {
    const value = (o as Record<string, unknown>)[name];
    if (value !== undefined && value !== noOp) unsupported(`options.${name}`, `only ${noOp} (no effect) is accepted`);
  }
  if (o.num_predict === 0) throw errors.REQUEST_INVALID('invalid options.num_predict: give -1 (no limit), -2 (fill the context) or at least 1', { param: 'options.num_predict' });
  return {
    temperature: o.temperature,
    topP: o.top_p,
    topK: o.top_k,
    seed: o.seed,
    // -1 (no limit) and -2 (fill the context) both run to the end of the context.
    maxTokens: o.num_predict !== undefined && o.num_predict > 0 ? o.num_predict : undefined,
    stop: o.stop && o.stop.length > 0 ? o.stop : undefined,
    presencePenalty: o.presence_penalty,
    frequencyPenalty: o.frequency_penalty,
  };
}

function responseFormat(value: z.infer<typeof format>): ResponseFormat | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === 'json') return { type: 'json_object' };
  if (typeof value === 'string') throw errors.REQUEST_INVALID(`invalid format ${JSON.stringify(value)}: give "json" or a JSON schema`, { param: 'format' });
  return { type: 'json_schema', schema: value };
}

function refuseImages(list: string[] | null | undefined, param: string): void {
  if (list && list.length > 0) unsupported(param, 'the GGUF models served here are text models; images need a multimodal model');
}

function refuseCommon(b: { think?: unknown; logprobs?: boolean | null; top_logprobs?: number | null }): void {
  if (b.think !== undefined && b.think !== null && b.think !== false) unsupported('think', 'these models have no thinking mode');
  if (b.logprobs) unsupported('logprobs', 'log probabilities are not returned');
  if (b.top_logprobs) unsupported('top_logprobs', 'log probabilities are not returned');
}

export interface ParsedGeneration {
  model: string;
  stream: boolean;
  keepAliveSeconds?: number;
  numCtx?: number;
  /** Absent: the request only loads (or, with keep_alive 0, unloads) the model. */
  generation?: GenerationRequest;
}

export function parseGenerate(body: unknown): ParsedGeneration {
  const b = parse(generateSchema, body);
  refuseCommon(b);
  refuseImages(b.images, 'images');
  if (b.suffix) unsupported('suffix', 'fill-in-the-middle is not implemented');
  if (b.template) unsupported('template', 'prompts are rendered with the model\'s own chat template (or not at all with raw: true)');
  if (b.context && b.context.length > 0) unsupported('context', 'the deprecated context tokens are not kept; send the conversation to /api/chat');
  if (b.raw && b.system) unsupported('system', 'a raw prompt has no template to put a system message in');
  const base = { model: b.model, stream: b.stream ?? true, keepAliveSeconds: keepAliveSeconds(b.keep_alive), numCtx: b.options?.num_ctx };
  if (!b.prompt) return base;
  // Without raw, Ollama renders the prompt with the model's template: here, as one user turn (after the system message).
  const prompt: string | ChatMessage[] = b.raw ? b.prompt : [...(b.system ? [{ role: 'system' as const, content: b.system }] : []), { role: 'user', content: b.prompt }];
  return { ...base, generation: { ...sampling(b.options), prompt, responseFormat: responseFormat(b.format) } };
}

const ROLES = new Set(['system', 'user', 'assistant']);

export function parseChat(body: unknown): ParsedGeneration {
  const b = parse(chatSchema, body);
  refuseCommon(b);
  if (b.tools && b.tools.length > 0) unsupported('tools', 'tool calling is not implemented');
  const base = { model: b.model, stream: b.stream ?? true, keepAliveSeconds: keepAliveSeconds(b.keep_alive), numCtx: b.options?.num_ctx };
  if (!b.messages || b.messages.length === 0) return base;
  const messages = b.messages.map((m, i): ChatMessage => {
    refuseImages(m.images, `messages[${i}].images`);
    if (m.role === 'tool' || (m.tool_calls && m.tool_calls.length > 0) || m.tool_name) unsupported(`messages[${i}]`, 'tool calling is not implemented');
    if (!ROLES.has(m.role)) throw errors.REQUEST_INVALID(`invalid messages[${i}].role '${m.role}': give 'system', 'user' or 'assistant'`, { param: `messages[${i}].role` });
    return { role: m.role as ChatMessage['role'], content: m.content ?? '' };
  });
  return { ...base, generation: { ...sampling(b.options), prompt: messages, responseFormat: responseFormat(b.format) } };
}

export interface ParsedEmbedding {
  model: string;
  inputs: string[];
  keepAliveSeconds?: number;
  /** /api/embed truncates by default; Forja refuses an input longer than the context instead. */
  truncate: boolean;
}

function refuseEmbeddingOptions(o: OllamaOptions | null | undefined): void {
  for (const [name, value] of Object.entries(o ?? {})) {
    if (value !== undefined && !(IGNORED_OPTIONS as readonly string[]).includes(name) && name !== 'num_ctx') unsupported(`options.${name}`, 'embeddings take no sampling options');
  }
}

export function parseEmbed(body: unknown): ParsedEmbedding {
  const b = parse(embedSchema, body);
  refuseEmbeddingOptions(b.options);
  if (b.dimensions != null) unsupported('dimensions', 'vectors have the model\'s own embedding size');
  const inputs = typeof b.input === 'string' ? [b.input] : b.input;
  const empty = inputs.findIndex((s) => s.length === 0);
  if (empty !== -1) throw errors.REQUEST_INVALID(`input[${empty}] must not be empty`, { param: 'input' });
  return { model: b.model, inputs, keepAliveSeconds: keepAliveSeconds(b.keep_alive), truncate: b.truncate ?? true };
}

export function parseEmbeddings(body: unknown): ParsedEmbedding {
  const b = parse(embeddingsSchema, body);
  refuseEmbeddingOptions(b.options);
  if (b.prompt.length === 0) throw errors.REQUEST_INVALID('prompt must not be empty', { param: 'prompt' });
  return { model: b.model, inputs: [b.prompt], keepAliveSeconds: keepAliveSeconds(b.keep_alive), truncate: false };
}

export function parseShow(body: unknown): { model: string; verbose: boolean } {
  const b = parse(showSchema, body);
  const model = b.model ?? b.name;
  if (!model) throw errors.REQUEST_INVALID('model is required', { param: 'model' });
  return { model, verbose: b.verbose ?? false };
}
