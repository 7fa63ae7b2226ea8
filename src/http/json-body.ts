/**
 * The one JSON body parser. Every route that takes JSON goes through it, either as Fastify's
 * `application/json` parser (inherited by every plugin) or, for routes that must keep the raw bytes
 * (v2 infer with binary tensors, signed webhooks), by calling `parseJsonBytes`/`assertJsonDepth`.
 *
 * Nesting depth is bounded before parsing: JSON.parse itself copes with deep input, but every
 * recursive walk after it (schema validation, JSON.stringify, Array.prototype.flat) overflows the
 * stack, which would turn a client's body into a 500.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors, ForjaError } from '../errors.js';

/** Deepest array/object nesting any route accepts (a rank-8 tensor in an infer body is about 12). */
export const MAX_JSON_DEPTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Byte offset where the nesting first goes deeper than `maxDepth`, or -1. One pass over the bytes,
 * skipping string contents; it does not validate the JSON (JSON.parse does that afterwards).
 */
export function findTooDeep(bytes: Uint8Array, maxDepth = MAX_JSON_DEPTH): number {
  let depth = 0;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      for (i++; i < n; i++) {
        const s = bytes[i];
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return i;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return -1;
}

/** Throws FORJA_ERR_REQUEST_TOO_DEEP when the JSON in `bytes` nests deeper than `maxDepth`. */
export function assertJsonDepth(bytes: Uint8Array, what = 'JSON body', maxDepth = MAX_JSON_DEPTH): void {
  const at = findTooDeep(bytes, maxDepth);
  if (at >= 0) throw errors.REQUEST_TOO_DEEP(`${what} nests arrays and objects deeper than ${maxDepth} levels (at byte ${at})`);
}

/** Depth check, then JSON.parse; malformed JSON is FORJA_ERR_REQUEST_MALFORMED_JSON. */
export function parseJsonBytes(bytes: Buffer, what = 'JSON body', maxDepth = MAX_JSON_DEPTH): unknown {
  assertJsonDepth(bytes, what, maxDepth);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw errors.REQUEST_MALFORMED_JSON(`malformed ${what}: ${(err as Error).message}`);
  }
}

/**
 * Replaces Fastify's `application/json` parser on the root instance so every plugin inherits the
 * depth bound. Keeps Fastify's own parser (and its __proto__/constructor poisoning checks) for the
 * parse itself.
 */
export function registerJsonBodyParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parser = depthBoundedJsonParser(app, maxDepth);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parser);
}

/**
 * The same parser for other content types, in a plugin that reads JSON whatever the client calls
 * it (Ollama's clients and its documented `curl -d` send JSON as a form or with no type at all).
 */
export function registerJsonForAnyContentType(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parser = depthBoundedJsonParser(app, maxDepth);
  // Fastify's own text/plain parser would hand the route a string (what fetch sends a string body as).
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'buffer' }, parser);
  app.addContentTypeParser('*', { parseAs: 'buffer' }, parser);
}

function depthBoundedJsonParser(app: FastifyInstance, maxDepth: number) {
  const defaultParser = app.getDefaultJsonParser('error', 'error');
  return (request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
    const bytes = body as Buffer;
    try {
      assertJsonDepth(bytes, 'JSON body', maxDepth);
    } catch (err) {
      done(err as ForjaError, undefined);
      return;
    }
    defaultParser(request, bytes.toString('utf8'), done);
  };
}
