/**
 * Maps a request's sampling parameters onto a native sampler: temperature (0 = greedy), top_p,
 * top_k, seed, OpenAI's presence/frequency penalties (over the generated tokens), and response_format
 * enforced by a GBNF grammar (json_object: any JSON; json_schema: that schema, once
 * json-schema-support.ts has bounded it and found every keyword enforceable).
 *
 * node-llama-cpp's JSON grammars end with a run of newlines after the value (its own generation
 * stops on them and trims the whitespace); those newlines are returned as stop strings so a JSON
 * answer ends when its value is complete.
 */
import { LlamaGrammarEvaluationState, LlamaText, type Llama, type LlamaGrammar, type LlamaModel } from 'node-llama-cpp';
import { errors } from '../../../errors.js';
import type { GenerationRequest } from '../../types.js';
import { enforceableJsonSchema } from './json-schema-support.js';
import type { NativeHandles, NativeSampler, SamplerConfig } from './native-bindings.js';

// OpenAI's penalties look at the whole completion; the native sampler needs a window length.
const PENALTY_WINDOW = 1024;

export interface PreparedSampler {
  sampler: NativeSampler;
  /** Text that ends the answer (hidden from the client); set when a grammar constrains the output. */
  stopStrings: string[];
  /** Whitespace at the end of the answer is dropped (the grammar's padding before its stop string). */
  trimTrailingWhitespace: boolean;
}

export class SamplerFactory {
  private jsonGrammar: Promise<LlamaGrammar> | undefined;

  constructor(private readonly llama: Llama, private readonly model: LlamaModel, private readonly native: NativeHandles) {}

  /** Builds the grammar (if any) first, so a bad schema fails the request before it is queued. */
  async create(request: GenerationRequest): Promise<PreparedSampler> {
    const config: SamplerConfig = {};
    const temperature = request.temperature ?? 1;
    if (temperature > 0) {
      config.temperature = temperature;
      config.seed = request.seed !== undefined ? request.seed >>> 0 : Math.floor(Math.random() * 0xffffffff);
      if (request.topP !== undefined && request.topP < 1) config.topP = request.topP;
      if (request.topK !== undefined && request.topK > 0) config.topK = request.topK;
    } else {
      config.temperature = 0;
    }
    if (request.presencePenalty || request.frequencyPenalty) {
      config.repeatPenaltyTokens = new Uint32Array(0);
      config.repeatPenalty = 1;
      config.repeatPenaltyMaxTokens = PENALTY_WINDOW;
      config.repeatPenaltyPresencePenalty = request.presencePenalty ?? 0;
      config.repeatPenaltyFrequencyPenalty = request.frequencyPenalty ?? 0;
    }
    const grammar = await this.grammarFor(request);
    if (grammar) {
      const state = new LlamaGrammarEvaluationState({ model: this.model, grammar });
      config.grammarEvaluationState = this.native.grammarState(state);
    }
    const sampler = this.native.createSampler();
    sampler.applyConfig(config);
    const stopStrings = (grammar?.stopGenerationTriggers ?? [])
      .map((trigger) => typeof trigger === 'string' ? trigger
        : (trigger instanceof LlamaText ? trigger.values : trigger).filter((v): v is string => typeof v === 'string').join(''))
      .filter((text) => text.length > 0);
    return { sampler, stopStrings, trimTrailingWhitespace: grammar?.trimWhitespaceSuffix ?? false };
  }

  private async grammarFor(request: GenerationRequest): Promise<LlamaGrammar | undefined> {
    const format = request.responseFormat;
    if (!format || format.type === 'text') return undefined;
    if (format.type === 'json_object') {
      this.jsonGrammar ??= this.llama.getGrammarFor('json');
      return this.jsonGrammar;
    }
    const schema = enforceableJsonSchema(format.schema);
    try {
      return await this.llama.createGrammarForJsonSchema(schema as Parameters<Llama['createGrammarForJsonSchema']>[0]);
    } catch (err) {
      throw errors.LLM_UNSUPPORTED_PARAMETER(`response_format.json_schema cannot be enforced: ${(err as Error).message}`, { param: 'response_format' });
    }
  }
}
