/**
 * Checks a GGUF file in JavaScript before llama.cpp or node-llama-cpp sees it. Several llama.cpp
 * failures are GGML_ASSERT/abort() calls that take the whole process down (a missing
 * feed_forward_length, a vocabulary with duplicate tokens, tensor data past the end of the file),
 * and node-llama-cpp's header reader loops for ever on a junk header, so the header is read by
 * our own bounded reader and anything that could reach one of those is refused here with a
 * reason the model manager can show.
 */
import { statSync } from 'node:fs';
import type { Llama } from 'node-llama-cpp';
import { errors } from '../../../errors.js';
import { GgufFormatError, readGgufHeader, type GgufHeader } from './gguf-header.js';
import { ggmlTypeSize, isArchitectureSupported } from './native-bindings.js';

/** Hyperparameters without which llama.cpp aborts or cannot build the graph, by family. */
const COMMON_KEYS = ['embedding_length', 'block_count'];
const ATTENTION_KEYS = ['context_length', 'feed_forward_length', 'attention.head_count'];
const FAMILY_KEYS: Record<string, string[]> = {
  mamba: ['ssm.conv_kernel', 'ssm.inner_size', 'ssm.state_size', 'ssm.time_step_rank'],
  mamba2: ['ssm.conv_kernel', 'ssm.inner_size', 'ssm.state_size', 'ssm.time_step_rank', 'ssm.group_count'],
  rwkv6: ['wkv.head_size', 'time_mix_extra_dim', 'time_decay_extra_dim'],
  rwkv6qwen2: ['wkv.head_size', 'time_mix_extra_dim', 'time_decay_extra_dim'],
  rwkv7: ['wkv.head_size'],
  arwkv7: ['wkv.head_size'],
};

export interface GgufSummary {
  architecture: string;
  info: GgufHeader;
  fileBytes: number;
  /** Bytes of tensor data (the weights). */
  weightBytes: number;
  trainContextSize: number;
  vocabularySize: number;
}

/** Reads and checks the file; throws MODEL_UNAVAILABLE with the reason when it must not be loaded. */
export async function validateGguf(path: string, llama?: Llama): Promise<GgufSummary> {
  const fail = (reason: string) => errors.MODEL_UNAVAILABLE(`invalid GGUF ${path}: ${reason}`);
  let fileBytes: number;
  try {
    fileBytes = statSync(path).size;
  } catch (err) {
    throw fail(`cannot read the file (${(err as Error).message})`);
  }
  let info: GgufHeader;
  try {
    info = await readGgufHeader(path);
  } catch (err) {
    if (err instanceof GgufFormatError) throw fail(`unreadable header or metadata (${err.message})`);
    throw fail(`cannot read the file (${(err as Error).message})`);
  }
  const metadata = info.metadata as unknown as Record<string, Record<string, unknown> | undefined>;
  const general = metadata.general ?? {};
  const architecture = typeof general.architecture === 'string' ? general.architecture : '';
  if (!architecture) throw fail('general.architecture is missing');
  if (llama && isArchitectureSupported(llama, architecture) === false) {
    throw fail(`architecture "${architecture}" is not supported by this llama.cpp build`);
  }
  const split = (metadata.split ?? {}) as Record<string, unknown>;
  if ([general.split_count, split.count].some((count) => typeof count === 'number' && count > 1)) {
    throw fail('split GGUF files are not supported; merge the parts into one file');
  }

  const archMeta = (metadata[architecture] ?? {}) as Record<string, unknown>;
  const required = [...COMMON_KEYS, ...(FAMILY_KEYS[architecture] ?? ATTENTION_KEYS)];
  const missing = required.filter((key) => lookup(archMeta, key) === undefined);
  if (missing.length > 0) throw fail(`missing hyperparameters for ${architecture}: ${missing.map((k) => `${architecture}.${k}`).join(', ')}`);

  const vocabularySize = checkVocabulary(metadata.tokenizer as Record<string, unknown> | undefined, fail);
  const weightBytes = checkTensors(info, fileBytes, llama, fail);
  const trainContextSize = Number(lookup(archMeta, 'context_length') ?? 0) || 4096;
  return { architecture, info, fileBytes, weightBytes, trainContextSize, vocabularySize };
}

/** Metadata is nested by dots ("attention.head_count" is archMeta.attention.head_count). */
function lookup(object: Record<string, unknown>, dotted: string): unknown {
  let node: unknown = object;
  for (const part of dotted.split('.')) {
    if (node == null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function checkVocabulary(tokenizer: Record<string, unknown> | undefined, fail: (r: string) => Error): number {
  const ggml = tokenizer?.ggml as Record<string, unknown> | undefined;
  const tokens = ggml?.tokens;
  if (!Array.isArray(tokens) || tokens.length === 0) throw fail('tokenizer.ggml.tokens is missing or empty');
  // llama.cpp asserts that every token string is unique.
  const seen = new Set<string>();
  for (const token of tokens) {
    const key = String(token);
    if (seen.has(key)) throw fail(`tokenizer.ggml.tokens has a duplicate token ${JSON.stringify(key)}`);
    seen.add(key);
  }
  for (const name of ['scores', 'token_type'] as const) {
    const array = ggml?.[name];
    if (array !== undefined && (!Array.isArray(array) || array.length !== tokens.length)) {
      throw fail(`tokenizer.ggml.${name} has ${Array.isArray(array) ? array.length : 'no'} entries for ${tokens.length} tokens`);
    }
  }
  // Special token ids outside the vocabulary are ignored by llama.cpp with a warning (0xFFFFFFFF means none).
  return tokens.length;
}

function checkTensors(info: GgufHeader, fileBytes: number, llama: Llama | undefined, fail: (r: string) => Error): number {
  const tensors = info.tensorInfo ?? [];
  if (tensors.length === 0) throw fail('the file has no tensors');
  if (info.infoEndOffset > fileBytes) throw fail('the header runs past the end of the file');
  let total = 0;
  for (const tensor of tensors) {
    let elements = 1;
    for (const d of tensor.dimensions) elements *= d;
    if (!Number.isSafeInteger(elements)) throw fail(`tensor ${tensor.name} has more elements than any file can hold`);
    const size = llama ? ggmlTypeSize(llama, tensor.ggmlType) : FALLBACK_TYPE_SIZES[tensor.ggmlType];
    if (!size) throw fail(`tensor ${tensor.name} has an unknown type ${tensor.ggmlType}`);
    if (elements % size.blockSize !== 0) throw fail(`tensor ${tensor.name} has ${elements} elements, not a multiple of its block size ${size.blockSize}`);
    const bytes = (elements / size.blockSize) * size.typeSize;
    const end = tensor.fileOffset + bytes;
    if (!Number.isSafeInteger(end) || end > fileBytes) {
      throw fail(`tensor ${tensor.name} ends at byte ${end} but the file has ${fileBytes} bytes (truncated?)`);
    }
    total += bytes;
  }
  return total;
}

/** Used when no runtime is at hand to ask: the common ggml types (block elements, block bytes). */
const FALLBACK_TYPE_SIZES: Record<number, { blockSize: number; typeSize: number } | undefined> = {
  0: { blockSize: 1, typeSize: 4 }, 1: { blockSize: 1, typeSize: 2 }, 2: { blockSize: 32, typeSize: 18 },
  3: { blockSize: 32, typeSize: 20 }, 6: { blockSize: 32, typeSize: 22 }, 7: { blockSize: 32, typeSize: 24 },
  8: { blockSize: 32, typeSize: 34 }, 10: { blockSize: 256, typeSize: 84 }, 11: { blockSize: 256, typeSize: 110 },
  12: { blockSize: 256, typeSize: 144 }, 13: { blockSize: 256, typeSize: 176 }, 14: { blockSize: 256, typeSize: 210 },
  30: { blockSize: 1, typeSize: 2 },
};
