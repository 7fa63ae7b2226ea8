/** Concatenating and splitting row-major tensors along any axis (the dynamic batcher only needs axis 0). */
import type { Tensor, TensorData } from './types.js';

const product = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

function allocLike(data: TensorData, length: number): TensorData {
  if (Array.isArray(data)) return new Array<string>(length);
  return new (data.constructor as new (n: number) => Exclude<TensorData, string[]>)(length);
}

function copy(from: TensorData, fromStart: number, to: TensorData, toStart: number, count: number): void {
  if (Array.isArray(from)) {
    for (let i = 0; i < count; i++) (to as string[])[toStart + i] = from[fromStart + i];
  } else {
    (to as Float32Array).set((from as Float32Array).subarray(fromStart, fromStart + count), toStart);
  }
}

/** Stacks tensors of equal shape except along `axis`. */
export function concatAlong(parts: Tensor[], axis: number): Tensor {
  const first = parts[0];
  const outer = product(first.shape.slice(0, axis));
  const size = parts.reduce((sum, t) => sum + t.shape[axis], 0);
  const shape = [...first.shape];
  shape[axis] = size;
  const out = allocLike(first.data, product(shape));
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    for (const part of parts) {
      const chunk = product(part.shape.slice(axis));
      copy(part.data, o * chunk, out, offset, chunk);
      offset += chunk;
    }
  }
  return { name: first.name, datatype: first.datatype, shape, data: out };
}

/** The inverse of concatAlong: `sizes[i]` rows along `axis` for part i. */
export function splitAlong(tensor: Tensor, axis: number, sizes: number[]): Tensor[] {
  const outer = product(tensor.shape.slice(0, axis));
  const inner = product(tensor.shape.slice(axis + 1));
  const rowChunk = tensor.shape[axis] * inner;
  let start = 0;
  return sizes.map((n) => {
    const shape = [...tensor.shape];
    shape[axis] = n;
    const out = allocLike(tensor.data, product(shape));
    for (let o = 0; o < outer; o++) copy(tensor.data, o * rowChunk + start * inner, out, o * n * inner, n * inner);
    start += n;
    return { name: tensor.name, datatype: tensor.datatype, shape, data: out };
  });
}
