/**
 * Reads a GGUF file's header (key/values and tensor infos) with bounded time and memory, before
 * anything else touches the file. Every count and length is checked against the bytes left in the
 * file (and against fixed caps) before it is used, so a junk header fails in one pass instead of
 * looping or allocating: node-llama-cpp's own reader treats bytes past the end of the file as
 * zeros and loops for ever on about half of all random short tails after a valid magic.
 *
 * The layout (little-endian): "GGUF", version u32, tensor count u64, key/value count u64; each
 * key/value is a string key, a u32 type and the value; each tensor info is a string name, a u32
 * dimension count, that many u64 dimensions, a u32 ggml type and a u64 offset into the tensor
 * data, which starts at the next multiple of `general.alignment` after the infos.
 */
import { open, type FileHandle } from 'node:fs/promises';

/** Caps far above any real model (the largest vocabularies have ~260k tokens, headers ~20 MB). */
export const GGUF_LIMITS = {
  headerBytes: 256 * 1024 * 1024,
  keyValues: 65_536,
  tensors: 1_048_576,
  arrayLength: 16_777_216,
  stringBytes: 16 * 1024 * 1024,
  /** GGML_MAX_DIMS. */
  dimensions: 4,
};

export interface GgufTensorEntry {
  name: string;
  /** ggml order, innermost first. */
  dimensions: number[];
  ggmlType: number;
  /** Absolute byte offset of the tensor's data in the file. */
  fileOffset: number;
}

export interface GgufHeader {
  version: number;
  /** Key/values nested by dots ("tokenizer.ggml.tokens" is metadata.tokenizer.ggml.tokens), as node-llama-cpp nests them. */
  metadata: Record<string, unknown>;
  tensorInfo: GgufTensorEntry[];
  /** Where the tensor data starts (the end of the header, aligned). */
  infoEndOffset: number;
}

/** The file is not a well-formed GGUF; the message says what is wrong. */
export class GgufFormatError extends Error {}

const enum Type { U8, I8, U16, I16, U32, I32, F32, Bool, String, Array, U64, I64, F64 }
const FIXED_SIZE: Partial<Record<Type, number>> = {
  [Type.U8]: 1, [Type.I8]: 1, [Type.U16]: 2, [Type.I16]: 2, [Type.U32]: 4, [Type.I32]: 4, [Type.F32]: 4,
  [Type.Bool]: 1, [Type.U64]: 8, [Type.I64]: 8, [Type.F64]: 8,
};
/** Keys whose dots are part of the name, as node-llama-cpp treats them. */
const LEAF_KEYS = new Set(['general.license', 'tokenizer.chat_template']);
const CHUNK = 1 << 20;

/** Positional reads through a window of the file; nothing is read past `limit`. */
class BoundedReader {
  private buffer = Buffer.alloc(0);
  private start = 0;
  position = 0;

  constructor(private readonly file: FileHandle, readonly fileBytes: number, private readonly limit: number) {}

  get left(): number { return this.fileBytes - this.position; }

  /** Makes the next n bytes readable, or fails naming what ran out. */
  async need(n: number, what: string): Promise<void> {
    const end = this.position + n;
    if (end > this.fileBytes) throw new GgufFormatError(`${what} runs past the end of the file (${this.fileBytes} bytes)`);
    if (end > this.limit) throw new GgufFormatError(`the header is larger than ${this.limit} bytes`);
    if (end <= this.start + this.buffer.length) return;
    const length = Math.min(Math.max(n, CHUNK), this.limit - this.position, this.fileBytes - this.position);
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.file.read(buffer, 0, length, this.position);
    if (bytesRead < n) throw new GgufFormatError(`${what} runs past the end of the file (it changed while being read)`);
    this.buffer = buffer.subarray(0, bytesRead);
    this.start = this.position;
  }

  private at(n: number): number {
    const offset = this.position - this.start;
    this.position += n;
    return offset;
  }

  u8(): number { return this.buffer.readUInt8(this.at(1)); }
  i8(): number { return this.buffer.readInt8(this.at(1)); }
  u16(): number { return this.buffer.readUInt16LE(this.at(2)); }
  i16(): number { return this.buffer.readInt16LE(this.at(2)); }
  u32(): number { return this.buffer.readUInt32LE(this.at(4)); }
  i32(): number { return this.buffer.readInt32LE(this.at(4)); }
  f32(): number { return this.buffer.readFloatLE(this.at(4)); }
  f64(): number { return this.buffer.readDoubleLE(this.at(8)); }
  u64(): bigint { return this.buffer.readBigUInt64LE(this.at(8)); }
  i64(): bigint { return this.buffer.readBigInt64LE(this.at(8)); }
  utf8(n: number): string { const offset = this.at(n); return this.buffer.toString('utf8', offset, offset + n); }
}

/** A u64 used as a count or length: no more than the cap, nor than the rest of the file can hold. */
function boundedCount(value: bigint, cap: number, room: number, what: string): number {
  if (value > BigInt(cap)) throw new GgufFormatError(`${what} is ${value}, more than the limit of ${cap}`);
  if (value > BigInt(room)) throw new GgufFormatError(`${what} is ${value}, more than the rest of the file can hold`);
  return Number(value);
}

async function readString(r: BoundedReader, what: string): Promise<string> {
  await r.need(8, what);
  const length = boundedCount(r.u64(), GGUF_LIMITS.stringBytes, r.left, `the length of ${what}`);
  await r.need(length, what);
  return r.utf8(length);
}

function readFixed(r: BoundedReader, type: Type): unknown {
  switch (type) {
    case Type.U8: return r.u8();
    case Type.I8: return r.i8();
    case Type.U16: return r.u16();
    case Type.I16: return r.i16();
    case Type.U32: return r.u32();
    case Type.I32: return r.i32();
    case Type.F32: return r.f32();
    case Type.Bool: return r.u8() !== 0;
    case Type.F64: return r.f64();
    case Type.U64: return asNumberIfSafe(r.u64());
    case Type.I64: return asNumberIfSafe(r.i64());
    default: throw new GgufFormatError(`value type ${type as number} is not a fixed-size type`);
  }
}

function asNumberIfSafe(value: bigint): number | bigint {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

async function readValue(r: BoundedReader, key: string): Promise<unknown> {
  await r.need(4, `the type of ${key}`);
  const type = r.u32() as Type;
  if (type === Type.String) return readString(r, `the value of ${key}`);
  const size = FIXED_SIZE[type];
  if (size !== undefined) {
    await r.need(size, `the value of ${key}`);
    return readFixed(r, type);
  }
  if (type !== Type.Array) throw new GgufFormatError(`${key} has an unknown value type ${type as number}`);
  await r.need(12, `the array ${key}`);
  const elementType = r.u32() as Type;
  const elementSize = elementType === Type.String ? 8 : FIXED_SIZE[elementType];
  if (elementSize === undefined) throw new GgufFormatError(`${key} is an array of an unsupported type ${elementType as number}`);
  // Each element takes at least elementSize bytes, so the file size bounds the count before any allocation.
  const length = boundedCount(r.u64(), GGUF_LIMITS.arrayLength, Math.floor(r.left / elementSize), `the length of the array ${key}`);
  const values: unknown[] = new Array(length);
  if (elementType === Type.String) {
    for (let i = 0; i < length; i++) values[i] = await readString(r, `${key}[${i}]`);
  } else {
    await r.need(length * elementSize, `the array ${key}`);
    for (let i = 0; i < length; i++) values[i] = readFixed(r, elementType);
  }
  return values;
}

/** Places a dotted key in the nested metadata; objects have no prototype so no key reaches Object.prototype. */
function nest(root: Record<string, unknown>, key: string, value: unknown): void {
  const parts = LEAF_KEYS.has(key) ? [key.slice(0, key.indexOf('.')), key.slice(key.indexOf('.') + 1)] : key.split('.');
  let node = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = node[parts[i]];
    if (next === undefined) {
      const child = Object.create(null) as Record<string, unknown>;
      node[parts[i]] = child;
      node = child;
    } else if (next !== null && typeof next === 'object' && !Array.isArray(next)) {
      node = next as Record<string, unknown>;
    } else {
      // "a.b" holds a value and "a.b.c" arrives: keep the rest of the key flat under "a".
      node[parts.slice(i).join('.')] = value;
      return;
    }
  }
  node[parts[parts.length - 1]] = value;
}

function lookupAlignment(metadata: Record<string, unknown>): number {
  const general = metadata.general as Record<string, unknown> | undefined;
  const alignment = general?.alignment;
  if (alignment === undefined) return 32;
  if (typeof alignment !== 'number' || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new GgufFormatError(`general.alignment must be a power of two, not ${String(alignment)}`);
  }
  return alignment;
}

/** Reads and checks the header; throws GgufFormatError for anything malformed. */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const file = await open(path, 'r');
  try {
    const fileBytes = (await file.stat()).size;
    const r = new BoundedReader(file, fileBytes, GGUF_LIMITS.headerBytes);
    await r.need(24, 'the GGUF header');
    if (r.utf8(4) !== 'GGUF') throw new GgufFormatError('the file does not start with the GGUF magic');
    const version = r.u32();
    if (version === 1) throw new GgufFormatError('GGUF version 1 is no longer supported; convert the file with a current llama.cpp');
    if (version !== 2 && version !== 3) {
      throw new GgufFormatError(version > 0xffff ? 'the file is a big-endian GGUF, which is not supported' : `GGUF version ${version} is not supported`);
    }
    // A tensor info takes at least 24 bytes and a key/value at least 13: the counts cannot exceed what the file holds.
    const tensorCount = boundedCount(r.u64(), GGUF_LIMITS.tensors, Math.floor(r.left / 24), 'the tensor count');
    const kvCount = boundedCount(r.u64(), GGUF_LIMITS.keyValues, Math.floor(r.left / 13), 'the key/value count');

    const metadata = Object.create(null) as Record<string, unknown>;
    const seen = new Set<string>();
    for (let i = 0; i < kvCount; i++) {
      const key = await readString(r, `key ${i}`);
      if (seen.has(key)) throw new GgufFormatError(`the key ${JSON.stringify(key)} appears twice`);
      seen.add(key);
      nest(metadata, key, await readValue(r, JSON.stringify(key)));
    }

    const entries: Array<{ name: string; dimensions: number[]; ggmlType: number; offset: bigint }> = [];
    for (let i = 0; i < tensorCount; i++) {
      const name = await readString(r, `the name of tensor ${i}`);
      await r.need(4, `tensor ${name}`);
      const count = r.u32();
      if (count > GGUF_LIMITS.dimensions) throw new GgufFormatError(`tensor ${name} has ${count} dimensions, more than ${GGUF_LIMITS.dimensions}`);
      await r.need(count * 8 + 12, `tensor ${name}`);
      const dimensions: number[] = [];
      for (let d = 0; d < count; d++) {
        const n = r.u64();
        if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufFormatError(`tensor ${name} has an invalid dimension ${n}`);
        dimensions.push(Number(n));
      }
      entries.push({ name, dimensions, ggmlType: r.u32(), offset: r.u64() });
    }
    const alignment = lookupAlignment(metadata);
    const infoEndOffset = Math.ceil(r.position / alignment) * alignment;
    const tensorInfo = entries.map((e) => {
      const fileOffset = BigInt(infoEndOffset) + e.offset;
      if (fileOffset > BigInt(fileBytes)) throw new GgufFormatError(`tensor ${e.name} starts at byte ${fileOffset}, past the end of the file (${fileBytes} bytes)`);
      return { name: e.name, dimensions: e.dimensions, ggmlType: e.ggmlType, fileOffset: Number(fileOffset) };
    });
    return { version, metadata, tensorInfo, infoEndOffset };
  } finally {
    await file.close();
  }
}
