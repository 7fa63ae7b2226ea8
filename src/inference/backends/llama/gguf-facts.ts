/**
 * What a GGUF file says about itself, for model listings (Ollama's /api/tags, /api/show, /api/ps):
 * architecture, parameter count, quantization, the metadata as flat `key: value` pairs, and the
 * file's SHA-256. Read with our own bounded header reader, so no runtime is needed and an
 * unloaded model can be described. Results are kept per file (path, size, modification time):
 * the header is read and the file hashed once, not on every listing.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import type { GgufFacts } from '../../types.js';
import { readGgufHeader, type GgufHeader } from './gguf-header.js';

/** llama.cpp's `llama_ftype` values (general.file_type). */
const FILE_TYPES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1', 10: 'Q2_K', 11: 'Q3_K_S',
  12: 'Q3_K_M', 13: 'Q3_K_L', 14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S', 17: 'Q5_K_M', 18: 'Q6_K',
  19: 'IQ2_XXS', 20: 'IQ2_XS', 21: 'Q2_K_S', 22: 'IQ3_XS', 23: 'IQ3_XXS', 24: 'IQ1_S', 25: 'IQ4_NL',
  26: 'IQ3_S', 27: 'IQ3_M', 28: 'IQ2_S', 29: 'IQ2_M', 30: 'IQ4_XS', 31: 'IQ1_M', 32: 'BF16',
  36: 'TQ1_0', 37: 'TQ2_0',
};

/** Vocabulary-sized arrays (tokens, scores, merges) are what make a description large. */
const ARRAY_LIMIT = 64;
const cache = new Map<string, Promise<GgufFacts>>();

export function ggufFacts(path: string): Promise<GgufFacts> {
  const stat = statSync(path);
  const key = `${path}\u0000${stat.size}\u0000${stat.mtimeMs}`;
  let facts = cache.get(key);
  if (!facts) {
    for (const old of cache.keys()) if (old.startsWith(`${path}\u0000`)) cache.delete(old);
    facts = readFacts(path, stat.size, stat.mtime);
    facts.catch(() => cache.delete(key));
    cache.set(key, facts);
  }
  return facts;
}

async function readFacts(path: string, fileBytes: number, modifiedAt: Date): Promise<GgufFacts> {
  const header = await readGgufHeader(path);
  const flat = flatten(header.metadata);
  const architecture = typeof flat['general.architecture'] === 'string' ? flat['general.architecture'] : 'unknown';
  const fileType = flat['general.file_type'];
  const declared = flat['general.parameter_count'];
  let digest: Promise<string> | undefined;
  return {
    architecture,
    parameterCount: typeof declared === 'number' && declared > 0 ? declared : countParameters(header),
    quantization: typeof fileType === 'number' ? FILE_TYPES[fileType] ?? 'unknown' : 'unknown',
    metadata: ({ fullArrays = false } = {}) => Object.fromEntries(Object.entries(flat).map(([k, v]) => [k, !fullArrays && Array.isArray(v) && v.length > ARRAY_LIMIT ? [] : v])),
    chatTemplate: typeof flat['tokenizer.chat_template'] === 'string' ? flat['tokenizer.chat_template'] : undefined,
    fileBytes,
    modifiedAt,
    sha256: () => (digest ??= hashFile(path)),
  };
}

function flatten(node: Record<string, unknown>, prefix = '', into: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [key, value] of Object.entries(node)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) flatten(value as Record<string, unknown>, name, into);
    else into[name] = Array.isArray(value) ? value.map(jsonSafe) : jsonSafe(value);
  }
  return into;
}

/** A 64-bit value beyond 2^53 comes as a bigint, which JSON cannot write. */
function jsonSafe(value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

function countParameters(header: GgufHeader): number {
  let total = 0;
  for (const tensor of header.tensorInfo) total += tensor.dimensions.reduce((n, d) => n * d, 1);
  return total;
}

/** Streamed in chunks, so hashing a large file never holds the event loop for long. */
function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
