/**
 * Reads an infer body into one buffer placed so that the binary tensor data after its JSON header
 * starts on an 8-byte boundary. The binary codec can then view each tensor in the body instead of
 * copying it out (a typed array needs an offset that is a multiple of its element size), which saves
 * a copy and an allocation of every tensor's size per request. With a Content-Length the buffer is
 * allocated once and chunks are copied straight into it; a chunked body is gathered first.
 *
 * It keeps Fastify's own rules and errors for raw bodies: the body limit (413), a Content-Length
 * that does not match the bytes received (400), a stream error (400).
 */
import type { FastifyRequest } from 'fastify';
import { errorCodes } from 'fastify';
import type { Readable } from 'node:stream';
import { HEADER_LENGTH } from './infer-codec.js';

const { FST_ERR_CTP_BODY_TOO_LARGE, FST_ERR_CTP_INVALID_CONTENT_LENGTH } = errorCodes;

/** The strictest alignment any fixed-size tensor element needs (INT64, UINT64, FP64). */
export const BINARY_ALIGNMENT = 8;

/** Bytes to leave before the body so that byte `headerLength` of it is aligned. */
export function alignmentPad(headerLength: string | string[] | undefined): number {
  const n = typeof headerLength === 'string' && /^\d+$/.test(headerLength) ? Number(headerLength) : 0;
  return (BINARY_ALIGNMENT - (n % BINARY_ALIGNMENT)) % BINARY_ALIGNMENT;
}

type Done = (err: Error | null, body?: Buffer) => void;

/** `bodyLimit` unless the route sets its own (Fastify leaves a custom parser to apply it). */
export function alignedBodyParser(bodyLimit: number) {
  return (request: FastifyRequest, payload: Readable, done: Done): void => {
    const limit = request.routeOptions.bodyLimit ?? bodyLimit;
    const declared = Number(request.headers['content-length']);
    if (declared > limit) {
      done(new FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    const pad = alignmentPad(request.headers[HEADER_LENGTH]);
    const known = Number.isInteger(declared) && declared >= 0;
    const whole = known ? Buffer.from(new ArrayBuffer(pad + declared), pad, declared) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (err: Error | null, body?: Buffer) => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onEnd);
      done(err, body);
    };
    function onData(chunk: Buffer | string) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (received + bytes.length > limit) {
        finish(new FST_ERR_CTP_BODY_TOO_LARGE());
        return;
      }
      // More bytes than declared: kept aside so the length check below refuses the body.
      if (whole && received + bytes.length <= declared) whole.set(bytes, received);
      else chunks.push(bytes);
      received += bytes.length;
    }
    function onEnd(err?: Error & { statusCode?: number }) {
      if (err) {
        if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
        finish(err);
        return;
      }
      if (known && received !== declared) {
        finish(new FST_ERR_CTP_INVALID_CONTENT_LENGTH());
        return;
      }
      if (whole) {
        finish(null, whole);
        return;
      }
      const body = Buffer.from(new ArrayBuffer(pad + received), pad, received);
      let offset = 0;
      for (const c of chunks) {
        body.set(c, offset);
        offset += c.length;
      }
      finish(null, body);
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onEnd);
    payload.resume();
  };
}
