/**
 * Request bodies of the OpenAI routes, validated once at the boundary and turned into the
 * engine's GenerationRequest. Parameters OpenAI defines that Forja does not implement answer 400
 * naming the parameter (never silently ignored); unknown parameters answer 400 as OpenAI does.
 */
import { z } from 'zod';
import { errors } from '../../errors.js';
import type { ChatMessage, GenerationRequest, ResponseFormat } from '../../inference/types.js';

/** Known OpenAI parameters that change the output and are not implemented: value allowed as a no-op. */
const UNSUPPORTED: Record<string, (value: unknown) => boolean> = {
  n: (v) => v === 1,
  logprobs: (v) => v === false || v === 0,
  top_logprobs: () => false,
  logit_bias: (v) => v != null && typeof v === 'object' && Object.keys(v).length === 0,
  tools: (v) => Array.isArray(v) && v.length === 0,
  tool_choice: (v) => v === 'none',
  functions: () => false,
  function_call: (v) => v === 'none',
  parallel_tool_calls: () => false,
  audio: () => false,
  modalities: (v) => Array.isArray(v) && v.length === 1 && v[0] === 'text',
  prediction: () => false,
  reasoning_effort: () => false,
  web_search_options: () => false,
  best_of: (v) => v === 1,
  echo: (v) => v === false,
  suffix: () => false,
  dimensions: () => false,
};

const FIELDS_IGNORED = new Set(['user', 'store', 'metadata', 'service_tier']);

function rejectUnsupported(body: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(body)) {
    const allowed = UNSUPPORTED[name];
    if (allowed && value !== null && value !== undefined && !allowed(value)) {
      throw errors.LLM_UNSUPPORTED_PARAMETER(`${name} is not supported by this server`, { param: name });
    }
  }
}

const MAX_STOP_LENGTH = 256;
/** OpenAI's own limit on inputs per embeddings request. */
const MAX_EMBEDDING_INPUTS = 2048;

const samplingFields = {
  model: z.string().min(1),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  // Each generated token is matched against every stop sequence: their length bounds that work.
  stop: z.union([z.string().max(MAX_STOP_LENGTH), z.array(z.string().max(MAX_STOP_LENGTH)).max(4)]).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullish(),
};

const textPart = z.object({ type: z.literal('text'), text: z.string() }).strict();
const content = z.union([z.string(), z.array(z.object({ type: z.string() }).passthrough())]);
const message = z.object({ role: z.string(), content: content.nullish(), name: z.string().optional() }).passthrough();

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({ name: z.string(), schema: z.record(z.string(), z.unknown()).optional(), strict: z.boolean().nullish(), description: z.string().optional() }),
  }),
]);

export const chatSchema = z.object({
  ...samplingFields,
  messages: z.array(message).min(1),
  max_completion_tokens: z.number().int().min(1).nullish(),
  response_format: responseFormat.nullish(),
}).strict();

export const completionSchema = z.object({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
}).strict();

export const embeddingSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(MAX_EMBEDDING_INPUTS)]),
  encoding_format: z.enum(['float', 'base64']).optional(),
}).strict();

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw errors.REQUEST_INVALID('the request body must be a JSON object');
  const record = { ...(body as Record<string, unknown>) };
  rejectUnsupported(record);
  for (const name of Object.keys(record)) {
    if (FIELDS_IGNORED.has(name) || UNSUPPORTED[name]) delete record[name];
  }
  const result = schema.safeParse(record);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue.path.map(String).join('.').replace(/\.(\d+)/g, '[$1]') || null;
  if (issue.code === 'unrecognized_keys') {
    throw errors.REQUEST_INVALID(`Unrecognized request argument supplied: ${issue.keys.join(', ')}`, { param: issue.keys[0] });
  }
  throw errors.REQUEST_INVALID(param ? `invalid ${param}: ${issue.message}` : issue.message, { param: param ?? undefined });
}

export interface ChatCompletionBody {
  model: string;
  stream: boolean;
  includeUsage: boolean;
  generation: GenerationRequest;
}

function sampling(body: z.infer<typeof chatSchema> | z.infer<typeof completionSchema>): Omit<GenerationRequest, 'prompt'> {
  const stop = body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;
  return {
    maxTokens: body.max_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    seed: body.seed ?? undefined,
    stop,
    presencePenalty: body.presence_penalty ?? undefined,
    frequencyPenalty: body.frequency_penalty ?? undefined,
  };
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant']);

function toMessages(messages: z.infer<typeof message>[]): ChatMessage[] {
  return messages.map((m, i) => {
    if (m.role === 'tool' || m.role === 'function' || m.tool_calls) {
      throw errors.LLM_UNSUPPORTED_PARAMETER(`messages[${i}]: tool and function calling are not supported by this server`, { param: `messages[${i}]` });
    }
    if (!ROLES.has(m.role)) {
      throw errors.REQUEST_INVALID(`Invalid value for 'messages[${i}].role': '${m.role}'. Supported values are: 'system', 'developer', 'user' and 'assistant'.`, { param: `messages[${i}].role` });
    }
    let text: string;
    if (m.content == null) {
      if (m.role !== 'assistant') throw errors.REQUEST_INVALID(`messages[${i}].content is required`, { param: `messages[${i}].content` });
      text = '';
    } else if (typeof m.content === 'string') {
      text = m.content;
    } else {
      text = m.content.map((part, j) => {
        const parsed = textPart.safeParse(part);
        if (!parsed.success) throw errors.LLM_UNSUPPORTED_PARAMETER(`messages[${i}].content[${j}]: content parts of type '${part.type}' are not supported; only 'text'`, { param: `messages[${i}].content[${j}]` });
        return parsed.data.text;
      }).join('\n');
    }
    return { role: m.role as ChatMessage['role'], content: text };
  });
}

function toResponseFormat(format: z.infer<typeof responseFormat> | null | undefined): ResponseFormat | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (!format.json_schema.schema) throw errors.REQUEST_INVALID('response_format.json_schema.schema is required', { param: 'response_format.json_schema.schema' });
  return { type: 'json_schema', schema: format.json_schema.schema };
}

export function parseChatCompletion(body: unknown): ChatCompletionBody {
  const b = parse(chatSchema, body);
  const generation: GenerationRequest = { ...sampling(b), prompt: toMessages(b.messages), responseFormat: toResponseFormat(b.response_format) };
  if (b.max_completion_tokens != null) generation.maxTokens = b.max_completion_tokens;
  return { model: b.model, stream: b.stream ?? false, includeUsage: b.stream_options?.include_usage ?? false, generation };
}

export function parseCompletion(body: unknown): ChatCompletionBody {
  const b = parse(completionSchema, body);
  const prompt = typeof b.prompt === 'string' ? b.prompt : b.prompt[0];
  if (prompt.length === 0) throw errors.REQUEST_INVALID('prompt must not be empty', { param: 'prompt' });
  return { model: b.model, stream: b.stream ?? false, includeUsage: b.stream_options?.include_usage ?? false, generation: { ...sampling(b), prompt } };
}

export function parseEmbedding(body: unknown): { model: string; inputs: string[]; encoding: 'float' | 'base64' } {
  const b = parse(embeddingSchema, body);
  const inputs = typeof b.input === 'string' ? [b.input] : b.input;
  const empty = inputs.findIndex((s) => s.length === 0);
  if (empty !== -1) throw errors.REQUEST_INVALID(`input[${empty}] must not be empty`, { param: 'input' });
  return { model: b.model, inputs, encoding: b.encoding_format ?? 'float' };
}

/** For proxied models: just enough checking to answer the common mistakes the same way. */
export function parseModelName(body: unknown): string {
  const model = body !== null && typeof body === 'object' ? (body as Record<string, unknown>).model : undefined;
  if (typeof model !== 'string' || model.length === 0) throw errors.REQUEST_INVALID('model is required', { param: 'model' });
  return model;
}
