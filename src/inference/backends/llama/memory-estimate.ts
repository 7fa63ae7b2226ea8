/**
 * Memory a GGUF model will take once loaded, computed from its metadata before loading:
 * weights + KV cache (attention models) or recurrent state (Mamba, RWKV) for all sequences +
 * the logits/compute buffers of one batch. The model manager budgets with this number.
 */
import type { GgufSummary } from './gguf-validation.js';

export interface ContextShape {
  /** Tokens per sequence. */
  contextSize: number;
  sequences: number;
  batchSize: number;
}

const F16 = 2;
const F32 = 4;
// llama.cpp's graph and scratch buffers beyond the logits: a fixed allowance.
const COMPUTE_OVERHEAD = 8 * 1024 * 1024;

export function estimateGgufMemory(summary: GgufSummary, shape: ContextShape): number {
  const arch = (summary.info.metadata as unknown as Record<string, Record<string, unknown>>)[summary.architecture] ?? {};
  const num = (path: string, fallback = 0): number => {
    let node: unknown = arch;
    for (const p of path.split('.')) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[p] : undefined;
    if (Array.isArray(node)) return Math.max(0, ...node.map(Number)); // per-layer arrays: budget for the largest
    return typeof node === 'number' ? node : fallback;
  };
  const layers = num('block_count');
  const embedding = num('embedding_length');
  let state: number;
  if (num('ssm.state_size') > 0) {
    const inner = num('ssm.inner_size', embedding * 2);
    state = layers * shape.sequences * inner * (num('ssm.state_size') + num('ssm.conv_kernel', 4)) * F32;
  } else if (num('wkv.head_size') > 0) {
    state = layers * shape.sequences * embedding * (num('wkv.head_size') + 2) * F32;
  } else {
    const heads = Math.max(1, num('attention.head_count', 1));
    const kvHeads = num('attention.head_count_kv', heads) || heads;
    const keyLength = num('attention.key_length', embedding / heads);
    const valueLength = num('attention.value_length', embedding / heads);
    const cells = shape.contextSize * shape.sequences;
    state = layers * cells * kvHeads * (keyLength + valueLength) * F16;
  }
  const logits = shape.batchSize * summary.vocabularySize * F32;
  return Math.ceil(summary.weightBytes + state + logits + COMPUTE_OVERHEAD);
}
