/**
 * Open Inference Protocol v2 JSON tensors <-> Forja tensors.
 * `data` may be flat or nested (row-major); BYTES elements are strings; BOOL elements are booleans;
 * FP16 travels as numbers and is stored as IEEE half bits; 64-bit integers become BigInt arrays.
 */
import type { Datatype, Tensor, TensorData } from '../../inference/types.js';
import { DATATYPE_INFO, elementCount } from '../../inference/datatypes.js';
import { errors, type ForjaError } from '../../errors.js';
import { halfToFloat, floatToHalf } from './half-float.js';

export { elementCount, isDatatype } from '../../inference/datatypes.js';

/**
 * Calls `visit` for each value of flat or nested arrays in row-major order and returns how many
 * there were. An explicit stack instead of recursion: no depth can overflow it, and no flattened
 * copy of the data is made.
 */
function forEachValue(name: string, data: unknown[], visit: (value: unknown, index: number) => void): number {
  const mixed = () => errors.TENSOR_INVALID(`input '${name}': data mixes nested arrays and values`);
  const arrays: unknown[][] = [data];
  const positions: number[] = [0];
  let count = 0;
  while (arrays.length > 0) {
    const top = arrays.length - 1;
    const level = arrays[top];
    const i = positions[top];
    if (i === level.length) {
      arrays.pop();
      positions.pop();
      continue;
    }
    positions[top] = i + 1;
    const value = level[i];
    const nested = Array.isArray(value);
    if (nested !== Array.isArray(level[0])) throw mixed();
    if (nested) {
      arrays.push(value as unknown[]);
      positions.push(0);
    } else {
      visit(value, count++);
    }
  }
  return count;
}

type Store = (value: unknown, index: number) => void;

/** The output array for a datatype and a store that checks and writes one JSON value into it. */
function storeFor(datatype: Datatype, count: number, bad: (index: number, value: unknown, what: string) => ForjaError): { out: TensorData; store: Store } {
  switch (datatype) {
    case 'BYTES': {
      const out = new Array<string>(count);
      return { out, store: (v, i) => { if (typeof v !== 'string') throw bad(i, v, 'a string'); out[i] = v; } };
    }
    case 'BOOL': {
      const out = new Uint8Array(count);
      return { out, store: (v, i) => { if (typeof v !== 'boolean') throw bad(i, v, 'true or false'); out[i] = v ? 1 : 0; } };
    }
    case 'FP16': {
      const out = new Uint16Array(count);
      return { out, store: (v, i) => { if (typeof v !== 'number') throw bad(i, v, 'a number'); out[i] = floatToHalf(v); } };
    }
    case 'FP32':
    case 'FP64': {
      const out = new DATATYPE_INFO[datatype].array(count) as Float32Array | Float64Array;
      return { out, store: (v, i) => { if (typeof v !== 'number') throw bad(i, v, 'a number'); out[i] = v; } };
    }
    case 'INT64':
    case 'UINT64': {
      // Typed-array stores wrap silently, so the 64-bit range is checked here like the narrower types.
      const { min, below, text } = DATATYPE_INFO[datatype].range!;
      const out = new DATATYPE_INFO[datatype].array(count) as BigInt64Array | BigUint64Array;
      return { out, store: (v, i) => { if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v >= below) throw bad(i, v, `an integer in ${text}`); out[i] = BigInt(v); } };
    }
    default: {
      const { min, below, text } = DATATYPE_INFO[datatype].range!;
      const out = new DATATYPE_INFO[datatype].array(count) as Int32Array;
      return { out, store: (v, i) => { if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v >= below) throw bad(i, v, `an integer in ${text}`); out[i] = v; } };
    }
  }
}

/** A short description of a wrong value that never walks into it. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(JSON.stringify(value)).slice(0, 40);
}

/** JSON `data` (flat or nested) into a typed array, in one pass over the values. */
export function decodeJsonData(name: string, datatype: Datatype, shape: number[], raw: unknown[]): TensorData {
  const expected = elementCount(shape);
  const shapeError = (got: number) => errors.TENSOR_SHAPE(`input '${name}': shape [${shape}] needs ${expected} elements, got ${got}`);
  const flat = raw.length === 0 || !Array.isArray(raw[0]);
  if (flat && raw.length !== expected) throw shapeError(raw.length);
  const bad = (i: number, value: unknown, what: string) => errors.TENSOR_DATATYPE(`input '${name}' (${datatype}): element ${i} is ${describe(value)}, expected ${what}`);
  const { out, store } = storeFor(datatype, expected, bad);
  const count = forEachValue(name, raw, (value, i) => { if (i < expected) store(value, i); });
  if (count !== expected) throw shapeError(count);
  return out;
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
