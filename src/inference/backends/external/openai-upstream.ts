/**
 * A model served by an OpenAI-compatible server elsewhere (vLLM, llama-server, another Forja):
 * requests are forwarded as they are, with the upstream's model name and API key swapped in.
 */
import { errors } from '../../../errors.js';
import type { ProxyLanguageModel } from '../../types.js';

export interface OpenAIUpstreamOptions {
  /** Base URL including /v1 (a function when it can change, e.g. a restarted child on a new port). */
  baseUrl: string | (() => string);
  /** Model name the upstream knows; default: the client's. */
  upstreamModel?: string;
  apiKey?: string;
  /** Called before each request; throws when the upstream cannot take it (e.g. restarting). */
  ready?: () => void;
  onUnload?: () => Promise<void>;
}

export class OpenAIUpstreamModel implements ProxyLanguageModel {
  readonly kind = 'llm' as const;
  readonly backend = 'external' as const;
  readonly device = 'cpu' as const;
  /** Memory lives in the other process; only what the local one pays counts. */
  readonly memoryBytes = 0;
  constructor(private readonly options: OpenAIUpstreamOptions) {}

  private get baseUrl(): string {
    const url = typeof this.options.baseUrl === 'function' ? this.options.baseUrl() : this.options.baseUrl;
    return url.replace(/\/+$/, '');
  }

  async forward(path: '/chat/completions' | '/completions' | '/embeddings', body: Record<string, unknown>, signal: AbortSignal): Promise<Response> {
    this.options.ready?.();
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const payload = this.options.upstreamModel ? { ...body, model: this.options.upstreamModel } : body;
    try {
      return await fetch(`${this.baseUrl}${path}`, { method: 'POST', headers, body: JSON.stringify(payload), signal });
    } catch (err) {
      if (signal.aborted) throw err;
      throw errors.UPSTREAM_FAILED(`cannot reach ${this.baseUrl}: ${(err as Error).message}`, { cause: err });
    }
  }

  async unload(): Promise<void> {
    await this.options.onUnload?.();
  }
}
