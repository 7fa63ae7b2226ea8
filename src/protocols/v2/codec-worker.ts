/**
 * Decodes and encodes large infer bodies off the event loop (see codec-pool.ts). The work is the
 * same as on the main thread; only the typed arrays and encoded bytes travel back, moved rather than
 * copied.
 *
 * In:  { id, op: 'decode', bytes, headerLength, viewBinary } | { id, op: 'encode', model, version, requestId, outputs, binaryOutputs }
 * Out: { id, ok: DecodedInfer | EncodedResponse } | { id, error: { code, statusCode, message, headers } }
 */
import { parentPort } from 'node:worker_threads';
import { toForjaError } from '../../errors.js';
import type { Tensor } from '../../inference/types.js';
import { decodeInferRequest, encodeInferResponse } from './infer-codec.js';
import { ownedBuffers } from './transfer.js';

type Message =
  | { id: number; op: 'decode'; bytes: Uint8Array; headerLength: string | string[] | undefined; viewBinary?: boolean }
  | { id: number; op: 'encode'; model: string; version: string; requestId: string | undefined; outputs: Tensor[]; binaryOutputs: Set<string> };

const port = parentPort!;

port.on('message', (message: Message) => {
  try {
    if (message.op === 'decode') {
      const raw = Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
      const decoded = decodeInferRequest(raw, message.headerLength, { viewBinary: message.viewBinary });
      // Binary tensors may be views into the body: its buffer goes back with them, moved.
      const body = message.bytes.buffer as ArrayBuffer;
      const fresh = ownedBuffers(decoded.inputs.map((t) => t.data)).filter((b) => b !== body);
      port.postMessage({ id: message.id, ok: decoded }, [body, ...fresh]);
    } else {
      const encoded = encodeInferResponse(message.model, message.version, message.requestId, message.outputs, message.binaryOutputs);
      const payload = typeof encoded.payload === 'string' ? Buffer.from(encoded.payload, 'utf8') : encoded.payload;
      // A payload inside Buffer's shared pool slab cannot be moved; a copy of it is small.
      const sendable = ownedBuffers([payload]).length === 1 ? payload : new Uint8Array(payload);
      port.postMessage({ id: message.id, ok: { ...encoded, payload: sendable } }, ownedBuffers([sendable]));
    }
  } catch (err) {
    const e = toForjaError(err);
    port.postMessage({ id: message.id, error: { code: e.code, statusCode: e.statusCode, message: e.message, headers: e.headers } });
  }
});
