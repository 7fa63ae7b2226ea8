/**
 * A loaded GGUF language model: renders prompts, checks them against the context, and hands
 * generation jobs to the engine; text comes back as deltas through an EventChannel.
 */
import type { Llama, LlamaContext, LlamaEmbeddingContext, LlamaModel } from 'node-llama-cpp';
import { errors } from '../../../errors.js';
import type {
  Device, Embeddings, Generation, GenerationEvent, GenerationRequest, GenerationResult, LanguageModel, LanguageModelInfo,
} from '../../types.js';
import type { ChatPrompt } from './chat-prompt.js';
import { EventChannel } from './event-channel.js';
import type { EndReason, GenerationEngine } from './generation-engine.js';
import { IncrementalDetokenizer } from './incremental-detokenizer.js';
import type { NativeHandles } from './native-bindings.js';
import type { SamplerFactory } from './sampling.js';
import { StopMatcher } from './stop-matcher.js';
import type { TokenLowerBound } from './token-bound.js';

export interface LlamaModelParts {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  native: NativeHandles;
  engine: GenerationEngine;
  chat: ChatPrompt;
  samplers: SamplerFactory;
  /** The fewest tokens a text can take (absent for tokenizers where no bound is safe). */
  tokenBound?: TokenLowerBound;
  info: LanguageModelInfo;
  device: Device;
  memoryBytes: number;
}

class GenerationStream extends EventChannel<GenerationEvent> implements Generation {
  promptTokens = 0;
}

export class LlamaLanguageModel implements LanguageModel {
  readonly kind = 'llm' as const;
  readonly backend = 'local' as const;
  readonly info: LanguageModelInfo;
  readonly device: Device;
  readonly memoryBytes: number;
  private embeddingContext: Promise<LlamaEmbeddingContext> | undefined;
  private unloaded = false;

  constructor(private readonly parts: LlamaModelParts) {
    this.info = parts.info;
    this.device = parts.device;
    this.memoryBytes = parts.memoryBytes;
  }

  tokenize(text: string): number[] {
    return Array.from(this.parts.model.tokenize(text));
  }

  async start(request: GenerationRequest, signal?: AbortSignal): Promise<Generation> {
    if (this.unloaded) throw errors.MODEL_UNAVAILABLE('the model was unloaded');
    const { engine } = this.parts;
    const contextSize = this.info.contextSize;
    this.refuseWhatCannotFit(request);
    const rendered = typeof request.prompt === 'string'
      ? { tokens: this.completionTokens(request.prompt), stopStrings: [], stopTokens: [] }
      : this.parts.chat.render(request.prompt);
    const promptParam = typeof request.prompt === 'string' ? 'prompt' : 'messages';
    const promptLength = rendered.tokens.length;
    if (promptLength === 0) throw errors.REQUEST_INVALID(`the ${promptParam} is empty`, { param: promptParam });
    if (promptLength >= contextSize) {
      throw errors.LLM_CONTEXT_LENGTH_EXCEEDED(`This model's maximum context length is ${contextSize} tokens. However, your ${promptParam} resulted in ${promptLength} tokens.`, { param: promptParam });
    }
    if (request.maxTokens !== undefined) {
      if (request.maxTokens > contextSize) throw errors.REQUEST_INVALID(`max_tokens is too large: ${request.maxTokens}. This model's maximum context length is ${contextSize} tokens.`, { param: 'max_tokens' });
      if (promptLength + request.maxTokens > contextSize) {
        throw errors.LLM_CONTEXT_LENGTH_EXCEEDED(`This model's maximum context length is ${contextSize} tokens. However, you requested ${promptLength + request.maxTokens} tokens (${promptLength} in the ${promptParam}, ${request.maxTokens} in the completion).`, { param: promptParam });
      }
    }
    const maxTokens = request.maxTokens ?? contextSize - promptLength;
    // In JSON modes only the grammar ends the answer: a stop sequence (the client's or the chat
    // template's) could cut the value and leave invalid JSON behind a finish_reason of "stop".
    const json = request.responseFormat !== undefined && request.responseFormat.type !== 'text';
    if (json && request.stop?.some((s) => s.length > 0)) {
      throw errors.LLM_UNSUPPORTED_PARAMETER('stop cannot be combined with a JSON response_format: a stop sequence could cut the JSON value', { param: 'stop' });
    }
    const { sampler, stopStrings, trimTrailingWhitespace } = await this.parts.samplers.create(request);

    const cancel = new AbortController();
    const onOuterAbort = () => cancel.abort();
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    if (signal?.aborted) cancel.abort();
    const stream = new GenerationStream(() => cancel.abort());
    stream.promptTokens = promptLength;
    const prompt = Uint32Array.from(rendered.tokens);
    const detokenizer = new IncrementalDetokenizer((t) => this.parts.native.model.detokenize(t, false), prompt);
    const stops = new StopMatcher(json ? stopStrings : [...(request.stop ?? []), ...rendered.stopStrings, ...stopStrings]);
    // Trailing whitespace is held back until more text follows, and dropped at the end.
    let heldSpace = '';
    const emit = (delta: string) => {
      if (!delta) return;
      let text = heldSpace + delta;
      if (trimTrailingWhitespace) {
        const kept = text.replace(/[ \t\r\n]+$/, '');
        heldSpace = text.slice(kept.length);
        text = kept;
      }
      if (text) stream.push({ type: 'text', text });
    };
    const stopTokens = json ? [] : rendered.stopTokens;

    engine.submit({
      prompt,
      sampler,
      maxTokens,
      stopTokens: stopTokens.length > 0 ? new Set(stopTokens) : undefined,
      signal: cancel.signal,
      onToken: (token) => {
        const delta = detokenizer.push(token);
        if (!delta) return false;
        const { text, stopped } = stops.push(delta);
        emit(text);
        return stopped;
      },
      onEnd: (reason: EndReason, generated: number, error?: unknown, cachedTokens = 0) => {
        signal?.removeEventListener('abort', onOuterAbort);
        if (reason === 'error') { stream.close(error); return; }
        if (reason === 'cancelled') { stream.close(); return; }
        let finishReason: 'stop' | 'length' = reason;
        const tail = stops.push(detokenizer.flush());
        emit(tail.text);
        if (tail.stopped) finishReason = 'stop';
        else emit(stops.flush());
        stream.push({ type: 'end', finishReason, usage: { promptTokens: promptLength, completionTokens: generated, cachedTokens } });
        stream.close();
      },
    });
    return stream;
  }

  async complete(request: GenerationRequest, signal?: AbortSignal): Promise<GenerationResult> {
    const generation = await this.start(request, signal);
    let text = '';
    for await (const event of generation) {
      if (event.type === 'text') text += event.text;
      else return { text, finishReason: event.finishReason, usage: event.usage };
    }
    throw errors.REQUEST_TIMEOUT('the generation was cancelled');
  }

  async embed(inputs: string[], signal?: AbortSignal): Promise<Embeddings> {
    if (this.unloaded) throw errors.MODEL_UNAVAILABLE('the model was unloaded');
    this.embeddingContext ??= this.parts.model.createEmbeddingContext({ contextSize: this.info.contextSize, threads: this.info.threads });
    const context = await this.embeddingContext;
    const vectors: Float32Array[] = [];
    let promptTokens = 0;
    const bound = this.parts.tokenBound;
    for (const [index, input] of inputs.entries()) {
      signal?.throwIfAborted();
      const least = bound?.atLeast(Buffer.byteLength(input)) ?? 0;
      if (least > this.info.contextSize) {
        throw errors.LLM_CONTEXT_LENGTH_EXCEEDED(`input[${index}] takes at least ${least} tokens; this model's maximum context length is ${this.info.contextSize} tokens.`, { param: 'input' });
      }
      const tokens = this.parts.model.tokenize(input);
      if (tokens.length === 0) throw errors.REQUEST_INVALID(`input[${index}] is empty`, { param: 'input' });
      if (tokens.length > this.info.contextSize) {
        throw errors.LLM_CONTEXT_LENGTH_EXCEEDED(`input[${index}] has ${tokens.length} tokens; this model's maximum context length is ${this.info.contextSize} tokens.`, { param: 'input' });
      }
      const embedding = await context.getEmbeddingFor(tokens);
      vectors.push(Float32Array.from(embedding.vector));
      promptTokens += tokens.length;
    }
    return { vectors, promptTokens };
  }

  async unload(): Promise<void> {
    if (this.unloaded) return;
    this.unloaded = true;
    await this.parts.engine.close();
    const embedding = this.embeddingContext;
    if (embedding) await (await embedding.catch(() => undefined))?.dispose();
    await this.parts.context.dispose();
    await this.parts.model.dispose();
  }

  /**
   * Refuses a prompt whose size alone proves it cannot fit, before anything renders or tokenizes
   * it. Chat contents count trimmed (a template may trim them); the template only adds tokens,
   * and every message renders to at least one (its role marker).
   */
  private refuseWhatCannotFit(request: GenerationRequest): void {
    const bound = this.parts.tokenBound;
    const contextSize = this.info.contextSize;
    const param = typeof request.prompt === 'string' ? 'prompt' : 'messages';
    const bytes = typeof request.prompt === 'string'
      ? Buffer.byteLength(request.prompt)
      : request.prompt.reduce((n, m) => n + Buffer.byteLength(m.content.trim()), 0);
    const least = Math.max(bound?.atLeast(bytes) ?? 0, typeof request.prompt === 'string' ? 0 : request.prompt.length);
    const completion = request.maxTokens !== undefined && request.maxTokens <= contextSize ? request.maxTokens : 0;
    if (least >= contextSize || least + completion > contextSize) {
      const size = typeof request.prompt === 'string' ? `${bytes} bytes` : `${request.prompt.length} messages, ${bytes} bytes`;
      throw errors.LLM_CONTEXT_LENGTH_EXCEEDED(`This model's maximum context length is ${contextSize} tokens. However, your ${param} (${size}) takes at least ${least} tokens${request.maxTokens !== undefined ? `, and ${request.maxTokens} more were requested for the completion` : ''}.`, { param });
    }
  }

  /** A completions prompt is tokenized as text, after a BOS token when the model expects one. */
  private completionTokens(prompt: string): number[] {
    const { model } = this.parts;
    const tokens = Array.from(model.tokenize(prompt));
    const bos = model.tokens.bos;
    if (bos != null && model.tokens.shouldPrependBosToken && tokens[0] !== bos) tokens.unshift(bos);
    return prompt.length === 0 ? [] : tokens;
  }
}
