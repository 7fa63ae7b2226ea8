/**
 * The binary frame of the WebSocket stream route, as a client builds it: the JSON header's length
 * (4 bytes, little-endian), the header, then each tensor's bytes in the header's order.
 */
export function binaryStreamFrame(header: object, tensors: ArrayBufferView[]): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(json.length);
  return Buffer.concat([prefix, json, ...tensors.map((t) => Buffer.from(t.buffer, t.byteOffset, t.byteLength))]);
}
