/**
 * Open Inference Protocol v2 JSON tensors <-> Forja tensors.
 * `data` may be flat or nested (row-major); BYTES elements are strings; BOOL elements are booleans;
 * FP16 travels as numbers and is stored as IEEE half bits; 64-bit integers become BigInt arrays.
 */
import type { Datatype, Tensor, TensorData } from '../../inference/types.js';
import { DATATYPES } from '../../inference/types.js';
import { errors } from '../../errors.js';
import { halfToFloat, floatToHalf } from './half-float.js';

interface IntRange { min: number; max: number; Ctor: new (n: number) => Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array }

const INT_RANGES: Partial<Record<Datatype, IntRange>> = {
  INT8: { min: -128, max: 127, Ctor: Int8Array },
  INT16: { min: -32768, max: 32767, Ctor: Int16Array },
  INT32: { min: -2147483648, max: 2147483647, Ctor: Int32Array },
  UINT8: { min: 0, max: 255, Ctor: Uint8Array },
  UINT16: { min: 0, max: 65535, Ctor: Uint16Array },
  UINT32: { min: 0, max: 4294967295, Ctor: Uint32Array },
};

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && (DATATYPES as readonly string[]).includes(value);
}

export function elementCount(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Flattens nested arrays in row-major order without recursion limits on width. */
function flatten(data: unknown[], name: string): unknown[] {
  if (data.length === 0 || !Array.isArray(data[0])) {
    for (const v of data) if (Array.isArray(v)) throw errors.TENSOR_INVALID(`input '${name}': data mixes nested arrays and values`);
    return data;
  }
  return (data as unknown[]).flat(Infinity);
}

export function decodeJsonData(name: string, datatype: Datatype, shape: number[], raw: unknown[]): TensorData {
  const values = flatten(raw, name);
  const expected = elementCount(shape);
  if (values.length !== expected) {
    throw errors.TENSOR_SHAPE(`input '${name}': shape [${shape}] needs ${expected} elements, got ${values.length}`);
  }
  const bad = (i: number, what: string) => errors.TENSOR_DATATYPE(`input '${name}' (${datatype}): element ${i} is ${JSON.stringify(values[i])?.slice(0, 40)}, expected ${what}`);
  switch (datatype) {
    case 'BYTES': {
      for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'string') throw bad(i, 'a string');
      return values as string[];
    }
    case 'BOOL': {
      const out = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'boolean') throw bad(i, 'true or false');
        out[i] = v ? 1 : 0;
      }
      return out;
    }
    case 'FP32':
    case 'FP64':
    case 'FP16': {
      const out = datatype === 'FP32' ? new Float32Array(values.length) : datatype === 'FP64' ? new Float64Array(values.length) : new Float32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'number') throw bad(i, 'a number');
        out[i] = v;
      }
      if (datatype !== 'FP16') return out;
      const half = new Uint16Array(values.length);
      for (let i = 0; i < out.length; i++) half[i] = floatToHalf(out[i]);
      return half;
    }
    case 'INT64':
    case 'UINT64': {
      const out = datatype === 'INT64' ? new BigInt64Array(values.length) : new BigUint64Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        // Typed-array stores wrap silently, so the 64-bit range is checked here like the narrower types.
        const outOfRange = (n: number) => (datatype === 'UINT64' ? n < 0 || n >= 2 ** 64 : n < -(2 ** 63) || n >= 2 ** 63);
        if (typeof v !== 'number' || !Number.isInteger(v) || outOfRange(v)) throw bad(i, datatype === 'UINT64' ? 'an integer in 0..2^64-1' : 'an integer in -2^63..2^63-1');
        out[i] = BigInt(v);
      }
      return out;
    }
    default: {
      const range = INT_RANGES[datatype]!;
      const out = new range.Ctor(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < range.min || v > range.max) throw bad(i, `an integer in ${range.min}..${range.max}`);
        out[i] = v;
      }
      return out;
    }
  }
}

/** Tensor data as plain JSON values (flat, row-major). */
export function encodeJsonData(tensor: Tensor): unknown[] {
  const { data, datatype } = tensor;
  if (Array.isArray(data)) return data;
  if (datatype === 'BOOL') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (datatype === 'FP16') return Array.from(data as Uint16Array, halfToFloat);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  return Array.from(data as Float32Array);
}

export function toJsonOutput(tensor: Tensor): { name: string; datatype: Datatype; shape: number[]; data: unknown[] } {
  return { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, data: encodeJsonData(tensor) };
}
