/**
 * Writes tiny random-weight GGUF files (format v3) so tests run real llama.cpp without shipping
 * weights. `writeGguf` is the generic container writer; `writeTinyLlamaGguf` and
 * `writeTinyMambaGguf` build complete models of two unrelated architectures (attention and
 * state-space) that node-llama-cpp loads and generates from.
 *
 * GGUF layout: header (magic, version, tensor count, kv count), key/values, tensor infos,
 * padding to `general.alignment`, then tensor data, each tensor aligned. Tensor dimensions are
 * written innermost first (ggml order), the reverse of the usual row-major shape.
 */
import { writeFileSync } from 'node:fs';

export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'u64'; value: bigint }
  | { type: 'string[]'; value: string[] }
  | { type: 'f32[]'; value: number[] }
  | { type: 'i32[]'; value: number[] };

export interface GgufTensor {
  name: string;
  /** ggml order: innermost (contiguous) dimension first. */
  dims: number[];
  /** F32 data; its length must be the product of dims (unless `truncate` tests want otherwise). */
  data: Float32Array;
  /** How the data is stored in the file (default F32). */
  storage?: 'f32' | 'f16';
}

const ALIGNMENT = 32;
const T = { U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10 } as const;

/** A growable little-endian byte buffer. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u32(v: number): void { this.ensure(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number): void { this.ensure(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  u64(v: bigint | number): void { this.ensure(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  f32(v: number): void { this.ensure(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  u8(v: number): void { this.ensure(1); this.buf[this.length++] = v; }
  str(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.bytes(b); }
  bytes(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.length); this.length += b.length; }
  pad(to: number): void { while (this.length % to !== 0) this.u8(0); }
  result(): Buffer { return this.buf.subarray(0, this.length); }
}

function writeValue(out: ByteSink, v: GgufValue): void {
  switch (v.type) {
    case 'u32': out.u32(T.U32); out.u32(v.value); break;
    case 'i32': out.u32(T.I32); out.i32(v.value); break;
    case 'f32': out.u32(T.F32); out.f32(v.value); break;
    case 'bool': out.u32(T.BOOL); out.u8(v.value ? 1 : 0); break;
    case 'string': out.u32(T.STRING); out.str(v.value); break;
    case 'u64': out.u32(T.U64); out.u64(v.value); break;
    case 'string[]': out.u32(T.ARRAY); out.u32(T.STRING); out.u64(v.value.length); for (const s of v.value) out.str(s); break;
    case 'f32[]': out.u32(T.ARRAY); out.u32(T.F32); out.u64(v.value.length); for (const x of v.value) out.f32(x); break;
    case 'i32[]': out.u32(T.ARRAY); out.u32(T.I32); out.u64(v.value.length); for (const x of v.value) out.i32(x); break;
  }
}

/** IEEE 754 half precision of a float (round to nearest even), for F16 tensors. */
function toHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    mantissa = (mantissa | 0x800000) >>> (1 - exponent);
    return sign | ((mantissa + 0x1000) >>> 13);
  }
  if (exponent >= 31) return sign | 0x7c00;
  const half = sign | (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  return rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? half + 1 : half;
}

function tensorBytes(t: GgufTensor): Uint8Array {
  if (t.storage !== 'f16') return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const halves = new Uint16Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) halves[i] = toHalf(t.data[i]);
  return new Uint8Array(halves.buffer);
}

/** Serialises a GGUF v3 file: tensors F32, or F16 where a tensor asks for it. */
export function encodeGguf(kv: Record<string, GgufValue>, tensors: GgufTensor[]): Buffer {
  const out = new ByteSink();
  out.bytes(Buffer.from('GGUF', 'ascii'));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(Object.keys(kv).length);
  for (const [key, value] of Object.entries(kv)) { out.str(key); writeValue(out, value); }
  let offset = 0;
  for (const t of tensors) {
    out.str(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(t.storage === 'f16' ? 1 : 0); // GGML_TYPE_F16 : GGML_TYPE_F32
    out.u64(offset);
    offset += Math.ceil((t.data.length * (t.storage === 'f16' ? 2 : 4)) / ALIGNMENT) * ALIGNMENT;
  }
  out.pad(ALIGNMENT);
  for (const t of tensors) {
    out.bytes(tensorBytes(t));
    out.pad(ALIGNMENT);
  }
  return out.result();
}

export function writeGguf(path: string, kv: Record<string, GgufValue>, tensors: GgufTensor[]): void {
  writeFileSync(path, encodeGguf(kv, tensors));
}

/** Deterministic pseudo-random numbers (mulberry32) so every generated model, or seeded test input, is identical. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function tensor(rand: () => number, name: string, dims: number[], fill?: number): GgufTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = fill ?? (rand() * 2 - 1) * 0.5;
  return { name, dims, data };
}

const WORDS = ['the', 'a', 'and', 'to', 'was', 'she', 'he', 'it', 'cat', 'dog', 'ball', 'park', 'once', 'upon', 'time', 'there', 'little', 'girl', 'play', 'hello', 'world', 'yes', 'no'];

/**
 * A SentencePiece-style ("llama") vocabulary: <unk>, <s>, </s>, the 256 byte tokens (so any text
 * tokenizes), "▁", letters and a few words. llama.cpp refuses a llama vocabulary without "▁".
 */
export function tinyVocabulary(): Record<string, GgufValue> {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3]; // unknown, control, control
  for (let b = 0; b < 256; b++) { tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`); types.push(6); }
  const pieces = ['▁', ...'abcdefghijklmnopqrstuvwxyz.,!?'.split(''), ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => `▁${c}`), ...WORDS.map((w) => `▁${w}`), '{', '}', '"', ':', '[', ']'];
  // Duplicate pieces make llama.cpp abort, so each piece appears once.
  for (const p of new Set(pieces)) { tokens.push(p); types.push(1); }
  // Longer pieces score higher so the tokenizer prefers whole words.
  const scores = tokens.map((t, i) => (types[i] === 1 ? -10 + t.length : 0));
  return {
    'tokenizer.ggml.model': { type: 'string', value: 'llama' },
    'tokenizer.ggml.tokens': { type: 'string[]', value: tokens },
    'tokenizer.ggml.scores': { type: 'f32[]', value: scores },
    'tokenizer.ggml.token_type': { type: 'i32[]', value: types },
    'tokenizer.ggml.bos_token_id': { type: 'u32', value: 1 },
    'tokenizer.ggml.eos_token_id': { type: 'u32', value: 2 },
    'tokenizer.ggml.unknown_token_id': { type: 'u32', value: 0 },
  };
}

export interface TinyLlamaOptions {
  embedding?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  feedForward?: number;
  contextLength?: number;
  seed?: number;
  /** A Jinja chat template stored as tokenizer.chat_template. */
  chatTemplate?: string;
  /** Leave these metadata keys out (to build invalid files on purpose). */
  omitKeys?: string[];
  /** Store the weight matrices as F16 (norms stay F32), as released models do. */
  f16?: boolean;
}

/** Builds the key/values and tensors of a random-weight llama-architecture model. */
export function tinyLlama(options: TinyLlamaOptions = {}): { kv: Record<string, GgufValue>; tensors: GgufTensor[] } {
  const nEmbd = options.embedding ?? 32;
  const nLayer = options.layers ?? 2;
  const nHead = options.heads ?? 4;
  const nHeadKv = options.kvHeads ?? 2;
  const nFf = options.feedForward ?? 64;
  const headDim = nEmbd / nHead;
  const vocab = tinyVocabulary();
  const nVocab = (vocab['tokenizer.ggml.tokens'].value as string[]).length;
  const kv: Record<string, GgufValue> = {
    'general.architecture': { type: 'string', value: 'llama' },
    'general.name': { type: 'string', value: 'tiny-random-llama' },
    'general.alignment': { type: 'u32', value: ALIGNMENT },
    'llama.context_length': { type: 'u32', value: options.contextLength ?? 512 },
    'llama.embedding_length': { type: 'u32', value: nEmbd },
    'llama.block_count': { type: 'u32', value: nLayer },
    'llama.feed_forward_length': { type: 'u32', value: nFf },
    'llama.attention.head_count': { type: 'u32', value: nHead },
    'llama.attention.head_count_kv': { type: 'u32', value: nHeadKv },
    'llama.attention.layer_norm_rms_epsilon': { type: 'f32', value: 1e-5 },
    'llama.rope.dimension_count': { type: 'u32', value: headDim },
    'llama.vocab_size': { type: 'u32', value: nVocab },
    ...vocab,
  };
  if (options.chatTemplate) kv['tokenizer.chat_template'] = { type: 'string', value: options.chatTemplate };
  for (const key of options.omitKeys ?? []) delete kv[key];
  const rand = seededRandom(options.seed ?? 1);
  const kvDim = headDim * nHeadKv;
  const tensors = [tensor(rand, 'token_embd.weight', [nEmbd, nVocab]), tensor(rand, 'output_norm.weight', [nEmbd], 1), tensor(rand, 'output.weight', [nEmbd, nVocab])];
  for (let i = 0; i < nLayer; i++) {
    const p = `blk.${i}.`;
    tensors.push(
      tensor(rand, `${p}attn_norm.weight`, [nEmbd], 1),
      tensor(rand, `${p}attn_q.weight`, [nEmbd, nEmbd]),
      tensor(rand, `${p}attn_k.weight`, [nEmbd, kvDim]),
      tensor(rand, `${p}attn_v.weight`, [nEmbd, kvDim]),
      tensor(rand, `${p}attn_output.weight`, [nEmbd, nEmbd]),
      tensor(rand, `${p}ffn_norm.weight`, [nEmbd], 1),
      tensor(rand, `${p}ffn_gate.weight`, [nEmbd, nFf]),
      tensor(rand, `${p}ffn_down.weight`, [nFf, nEmbd]),
      tensor(rand, `${p}ffn_up.weight`, [nEmbd, nFf]),
    );
  }
  if (options.f16) for (const t of tensors) if (t.dims.length === 2) t.storage = 'f16';
  return { kv, tensors };
}

export function writeTinyLlamaGguf(path: string, options: TinyLlamaOptions = {}): string {
  const { kv, tensors } = tinyLlama(options);
  writeGguf(path, kv, tensors);
  return path;
}

export interface TinyMambaOptions {
  embedding?: number;
  layers?: number;
  stateSize?: number;
  convKernel?: number;
  seed?: number;
}

/** A random-weight Mamba (state-space, no attention, no KV cache) model. */
export function tinyMamba(options: TinyMambaOptions = {}): { kv: Record<string, GgufValue>; tensors: GgufTensor[] } {
  const nEmbd = options.embedding ?? 32;
  const nLayer = options.layers ?? 2;
  const dState = options.stateSize ?? 8;
  const dConv = options.convKernel ?? 4;
  const dInner = nEmbd * 2;
  const dtRank = Math.ceil(nEmbd / 16);
  const vocab = tinyVocabulary();
  const nVocab = (vocab['tokenizer.ggml.tokens'].value as string[]).length;
  const kv: Record<string, GgufValue> = {
    'general.architecture': { type: 'string', value: 'mamba' },
    'general.name': { type: 'string', value: 'tiny-random-mamba' },
    'general.alignment': { type: 'u32', value: ALIGNMENT },
    'mamba.context_length': { type: 'u32', value: 1024 },
    'mamba.embedding_length': { type: 'u32', value: nEmbd },
    'mamba.block_count': { type: 'u32', value: nLayer },
    'mamba.feed_forward_length': { type: 'u32', value: 0 },
    'mamba.attention.head_count': { type: 'u32', value: 0 },
    'mamba.attention.layer_norm_rms_epsilon': { type: 'f32', value: 1e-5 },
    'mamba.ssm.conv_kernel': { type: 'u32', value: dConv },
    'mamba.ssm.inner_size': { type: 'u32', value: dInner },
    'mamba.ssm.state_size': { type: 'u32', value: dState },
    'mamba.ssm.time_step_rank': { type: 'u32', value: dtRank },
    ...vocab,
  };
  const rand = seededRandom(options.seed ?? 2);
  const tensors = [tensor(rand, 'token_embd.weight', [nEmbd, nVocab]), tensor(rand, 'output_norm.weight', [nEmbd], 1), tensor(rand, 'output.weight', [nEmbd, nVocab])];
  for (let i = 0; i < nLayer; i++) {
    const p = `blk.${i}.`;
    tensors.push(
      tensor(rand, `${p}attn_norm.weight`, [nEmbd], 1),
      tensor(rand, `${p}ssm_in.weight`, [nEmbd, 2 * dInner]),
      tensor(rand, `${p}ssm_conv1d.weight`, [dConv, dInner]),
      tensor(rand, `${p}ssm_conv1d.bias`, [dInner]),
      tensor(rand, `${p}ssm_x.weight`, [dInner, dtRank + 2 * dState]),
      tensor(rand, `${p}ssm_dt.weight`, [dtRank, dInner]),
      tensor(rand, `${p}ssm_dt.bias`, [dInner]),
      // A is kept negative (as trained models store -exp(A_log)) so the state decays.
      tensor(rand, `${p}ssm_a`, [dState, dInner], -1),
      tensor(rand, `${p}ssm_d`, [dInner]),
      tensor(rand, `${p}ssm_out.weight`, [dInner, nEmbd]),
    );
  }
  return { kv, tensors };
}

export function writeTinyMambaGguf(path: string, options: TinyMambaOptions = {}): string {
  const { kv, tensors } = tinyMamba(options);
  writeGguf(path, kv, tensors);
  return path;
}
