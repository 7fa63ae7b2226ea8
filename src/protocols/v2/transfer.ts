/** Which tensor buffers may be moved to another thread instead of copied. */
import type { TensorData } from '../../inference/types.js';

/** The ArrayBuffers that these arrays own whole (a view into a larger buffer is not moved: others may share it). */
export function ownedBuffers(arrays: (TensorData | Uint8Array)[]): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const a of arrays) {
    if (Array.isArray(a)) continue;
    const buffer = a.buffer;
    if (buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === buffer.byteLength && !buffers.includes(buffer)) buffers.push(buffer);
  }
  return buffers;
}

/** The array itself when it owns its buffer, else a copy of just its elements (that one can be moved). */
export function movable<T extends TensorData | Uint8Array>(array: T): T {
  if (Array.isArray(array) || ownedBuffers([array]).length === 1) return array;
  return array.slice() as T;
}
