/**
 * The one place that reaches below node-llama-cpp's public API (pinned at 3.22.1).
 *
 * Why: the high-level generation path costs ~0.9 ms per token on small models, mostly in
 * per-decode JS<->native round trips and per-sequence scheduling. The generation engine drives
 * the context's native batch directly (initBatch/addToBatch/decodeBatch, then one sampleToken per
 * sequence issued together), which is what llama-server does in C++. Everything used here is
 * checked at load time, so a changed library fails the load with a clear message instead of
 * misbehaving later.
 */
import type { Llama, LlamaContext, LlamaGrammarEvaluationState, LlamaModel } from 'node-llama-cpp';
import { errors } from '../../../errors.js';

/** The native context's batch API (llama_batch + llama_decode + sampling). */
export interface NativeContext {
  initBatch(size: number): void;
  addToBatch(sequenceId: number, firstTokenSequenceIndex: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  decodeBatch(): Promise<void>;
  sampleToken(batchLogitIndex: number, sampler: NativeSampler): Promise<number>;
  disposeSequence(sequenceId: number): void;
  /** Drops the cells of positions [start, end) (end -1: to the end); false when the model cannot (recurrent state). */
  removeTokenCellsFromSequence(sequenceId: number, start: number, end: number): boolean;
}

export interface SamplerConfig {
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  repeatPenaltyTokens?: Uint32Array;
  repeatPenalty?: number;
  repeatPenaltyMaxTokens?: number;
  repeatPenaltyPresencePenalty?: number;
  repeatPenaltyFrequencyPenalty?: number;
  grammarEvaluationState?: unknown;
}

/** A native sampler chain; sampleToken also feeds the chosen token back (penalties, grammar). */
export interface NativeSampler {
  applyConfig(config: SamplerConfig): void;
  dispose(): void;
}

interface NativeModel {
  detokenize(tokens: Uint32Array, specialTokens?: boolean): string;
  tokenize(text: string, specialTokens: boolean): Uint32Array;
}

interface Bindings {
  AddonSampler: new (model: NativeModel) => NativeSampler;
  getIsArchSupported?(architecture: string): boolean;
  getBlockSizeForGgmlType?(ggmlType: number): number | undefined;
  getTypeSizeForGgmlType?(ggmlType: number): number | undefined;
}

function bindingsOf(llama: Llama): Bindings {
  return (llama as unknown as { _bindings: Bindings })._bindings;
}

/** The native handles of one loaded model and its context. */
export interface NativeHandles {
  context: NativeContext;
  model: NativeModel;
  createSampler(): NativeSampler;
  /** The native state of a grammar evaluation (passed to SamplerConfig.grammarEvaluationState). */
  grammarState(state: LlamaGrammarEvaluationState): unknown;
}

export function nativeHandles(llama: Llama, model: LlamaModel, context: LlamaContext): NativeHandles {
  const nativeContext = (context as unknown as { _ctx?: NativeContext })._ctx;
  const nativeModel = (model as unknown as { _model?: NativeModel })._model;
  const bindings = bindingsOf(llama);
  const missing: string[] = [];
  for (const name of ['initBatch', 'addToBatch', 'decodeBatch', 'sampleToken', 'disposeSequence', 'removeTokenCellsFromSequence'] as const) {
    if (typeof nativeContext?.[name] !== 'function') missing.push(`context.${name}`);
  }
  if (typeof nativeModel?.detokenize !== 'function') missing.push('model.detokenize');
  if (typeof bindings?.AddonSampler !== 'function') missing.push('AddonSampler');
  if (missing.length > 0 || !nativeContext || !nativeModel) {
    throw errors.MODEL_UNAVAILABLE(`this node-llama-cpp build lacks the native API the generation engine needs (${missing.join(', ')})`);
  }
  return {
    context: nativeContext,
    model: nativeModel,
    createSampler: () => new bindings.AddonSampler(nativeModel),
    grammarState: (state) => (state as unknown as { _state: unknown })._state,
  };
}

/** Whether this llama.cpp build knows the architecture (undefined when it cannot say). */
export function isArchitectureSupported(llama: Llama, architecture: string): boolean | undefined {
  const fn = bindingsOf(llama)?.getIsArchSupported;
  return typeof fn === 'function' ? fn(architecture) : undefined;
}

/** Bytes per block and elements per block of a ggml tensor type, as the runtime itself counts them. */
export function ggmlTypeSize(llama: Llama, ggmlType: number): { blockSize: number; typeSize: number } | undefined {
  const b = bindingsOf(llama);
  const blockSize = b?.getBlockSizeForGgmlType?.(ggmlType);
  const typeSize = b?.getTypeSizeForGgmlType?.(ggmlType);
  if (!blockSize || !typeSize) return undefined;
  return { blockSize, typeSize };
}
