/**
 * OpenAI response bodies and stream chunks, for chat completions and (legacy) completions,
 * built exactly as OpenAI sends them so the official clients parse them unchanged.
 */
import { randomBytes } from 'node:crypto';
import type { FinishReason, TokenUsage } from '../../inference/types.js';
import { sseFrame } from '../../http/sse.js';

export type Endpoint = 'chat' | 'text';

export interface ResponseIdentity {
  id: string;
  created: number;
  model: string;
}

export function newIdentity(endpoint: Endpoint, model: string): ResponseIdentity {
  const prefix = endpoint === 'chat' ? 'chatcmpl-' : 'cmpl-';
  return { id: prefix + randomBytes(12).toString('base64url'), created: Math.floor(Date.now() / 1000), model };
}

export interface UsageBody {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

/** OpenAI's usage object; `prompt_tokens_details.cached_tokens` counts prompt tokens served from the prefix cache. */
export function usageBody(usage: TokenUsage): UsageBody {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens ?? 0 },
  };
}

export function completionBody(endpoint: Endpoint, who: ResponseIdentity, text: string, finishReason: FinishReason, usage: TokenUsage): Record<string, unknown> {
  if (endpoint === 'chat') {
    return {
      id: who.id, object: 'chat.completion', created: who.created, model: who.model, system_fingerprint: null,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: finishReason }],
      usage: usageBody(usage),
    };
  }
  return {
    id: who.id, object: 'text_completion', created: who.created, model: who.model, system_fingerprint: null,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
    usage: usageBody(usage),
  };
}

/**
 * Pre-rendered JSON around a text delta: the per-token chunk is two string concatenations and one
 * JSON.stringify of the text, not a whole object serialisation.
 */
export class ChunkWriter {
  private readonly head: string;
  private readonly tail: string;

  constructor(private readonly endpoint: Endpoint, private readonly who: ResponseIdentity, private readonly includeUsage: boolean) {
    const object = endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const usage = includeUsage ? ',"usage":null' : '';
    const base = `{"id":${JSON.stringify(who.id)},"object":"${object}","created":${who.created},"model":${JSON.stringify(who.model)},"system_fingerprint":null,"choices":[{"index":0,`;
    this.head = endpoint === 'chat' ? `data: ${base}"delta":{"content":` : `data: ${base}"text":`;
    this.tail = endpoint === 'chat' ? `},"logprobs":null,"finish_reason":null}]${usage}}\n\n` : `,"logprobs":null,"finish_reason":null}]${usage}}\n\n`;
  }

  /** The chat stream opens with the assistant role and empty content. */
  opening(): string | undefined {
    if (this.endpoint !== 'chat') return undefined;
    return this.event({ choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }] });
  }

  text(delta: string): string {
    return this.head + JSON.stringify(delta) + this.tail;
  }

  finish(reason: FinishReason): string {
    const choice = this.endpoint === 'chat'
      ? { index: 0, delta: {}, logprobs: null, finish_reason: reason }
      : { index: 0, text: '', logprobs: null, finish_reason: reason };
    return this.event({ choices: [choice] });
  }

  /** With stream_options.include_usage: one last chunk with empty choices and the usage. */
  usage(usage: TokenUsage): string | undefined {
    if (!this.includeUsage) return undefined;
    return this.event({ choices: [], usage: usageBody(usage) });
  }

  private event(fields: Record<string, unknown>): string {
    const object = this.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const body = { id: this.who.id, object, created: this.who.created, model: this.who.model, system_fingerprint: null, ...fields };
    if (this.includeUsage && !('usage' in fields)) (body as Record<string, unknown>).usage = null;
    return sseFrame({ data: body });
  }
}

export const DONE = sseFrame({ data: '[DONE]' });
