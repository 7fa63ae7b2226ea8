/**
 * The binary tensor data extension: tensor bytes travel after the JSON header instead of inside it.
 * Fixed-size types are little-endian element bytes (BOOL one byte each); BYTES elements are each a
 * 4-byte little-endian length followed by that many bytes.
 */
import type { Datatype, Tensor, TensorData } from '../../inference/types.js';
import { DATATYPE_INFO, elementCount } from '../../inference/datatypes.js';
import { errors } from '../../errors.js';

/**
 * `view`: the caller owns `bytes` for good (nothing rewrites them), so an aligned tensor may be a view
 * into them instead of a copy.
 */
export function decodeBinaryData(name: string, datatype: Datatype, shape: number[], bytes: Buffer, { view = false } = {}): TensorData {
  const count = elementCount(shape);
  if (datatype === 'BYTES') return decodeBytesElements(name, count, bytes);
  const { bytes: size, array } = DATATYPE_INFO[datatype];
  if (bytes.length !== count * size) {
    throw errors.TENSOR_SHAPE(`input '${name}': shape [${shape}] of ${datatype} needs ${count * size} bytes of binary data, got ${bytes.length}`);
  }
  // A view when allowed and aligned for the element type (the infer route reads bodies so that
  // binary data starts on an 8-byte boundary, aligned-body.ts); else a copy into a fresh buffer.
  if (view && bytes.byteOffset % size === 0) return new array(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  return new array(copy, 0, count);
}

function decodeBytesElements(name: string, count: number, bytes: Buffer): string[] {
  const out: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) throw errors.TENSOR_INVALID(`input '${name}': truncated BYTES element length at byte ${offset}`);
    const length = bytes.readUInt32LE(offset);
    offset += 4;
    if (offset + length > bytes.length) throw errors.TENSOR_INVALID(`input '${name}': BYTES element of ${length} bytes runs past the data`);
    out.push(bytes.toString('utf8', offset, offset + length));
    offset += length;
  }
  if (out.length !== count) throw errors.TENSOR_SHAPE(`input '${name}': shape needs ${count} BYTES elements, got ${out.length}`);
  return out;
}

export function encodeBinaryData(tensor: Tensor): Buffer {
  if (Array.isArray(tensor.data)) {
    const parts: Buffer[] = [];
    for (const s of tensor.data) {
      const body = Buffer.from(s, 'utf8');
      const head = Buffer.alloc(4);
      head.writeUInt32LE(body.length);
      parts.push(head, body);
    }
    return Buffer.concat(parts);
  }
  const data = tensor.data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
