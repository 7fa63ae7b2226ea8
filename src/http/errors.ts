/**
 * The one place where anything thrown while answering a request becomes a ForjaError, and the one
 * function that sends it. A protocol only declares the shape of its error body (an ErrorBody);
 * status, headers (Retry-After, WWW-Authenticate) and logging are the same everywhere.
 *
 * Every body carries the catalogued code as a top-level `code` field, whatever the protocol, so a
 * script can match on `body.code`. Errors from Fastify and its plugins (a body too large, a bad
 * content type, malformed JSON) are mapped onto catalogued codes here; nothing leaves with a
 * code that is not in src/errors.ts. Anything else unknown is FORJA_ERR_INTERNAL: a bug.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errors, ForjaError } from '../errors.js';

export type ErrorBody = (err: ForjaError) => object;

/**
 * v2 and the jobs API (and anything without its own shape): `{"error": "<message>", "code":
 * "FORJA_ERR_…"}`, plus the error's details (e.g. the existing job of an idempotency conflict).
 */
export const plainErrorBody: ErrorBody = (err) => ({ ...err.details, error: err.message, code: err.code });

type Factory = (message: string, options?: { cause?: unknown }) => ForjaError;

/** Fastify's own client errors, by their code. */
const FASTIFY_CODES: Record<string, Factory> = {
  FST_ERR_CTP_BODY_TOO_LARGE: errors.REQUEST_TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: errors.REQUEST_MEDIA_TYPE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: errors.REQUEST_INVALID,
  FST_ERR_CTP_EMPTY_JSON_BODY: errors.REQUEST_MALFORMED_JSON,
  FST_ERR_CTP_INVALID_JSON_BODY: errors.REQUEST_MALFORMED_JSON,
};

/** Any other client error (from Fastify or a plugin) by its status; the rest of 4xx is a bad request. */
const BY_STATUS: Record<number, Factory> = {
  401: errors.AUTH_UNAUTHORIZED,
  403: errors.AUTH_FORBIDDEN,
  404: errors.ROUTE_NOT_FOUND,
  413: errors.REQUEST_TOO_LARGE,
  415: errors.REQUEST_MEDIA_TYPE,
  429: errors.RATE_LIMITED,
};

export function toHttpError(error: unknown): ForjaError {
  if (error instanceof ForjaError) return error;
  const e = error as { code?: unknown; statusCode?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  if (typeof e?.code === 'string' && Object.hasOwn(FASTIFY_CODES, e.code)) return FASTIFY_CODES[e.code](message, { cause: error });
  if (error instanceof SyntaxError) return errors.REQUEST_MALFORMED_JSON(`malformed JSON body: ${message}`, { cause: error });
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return (BY_STATUS[e.statusCode] ?? errors.REQUEST_INVALID)(message, { cause: error });
  return errors.INTERNAL(message, { cause: error });
}

/**
 * Logs what deserves it and answers with the error's status, headers and the protocol's body.
 * 5xx are logged with their code (500s with the stack: they are bugs); 503s are expected under
 * load or while draining and show in the metrics instead. Client errors are not logged.
 */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown, body: ErrorBody = plainErrorBody): FastifyReply {
  const err = toHttpError(error);
  if (err.statusCode === 500) request.log.error({ err: error, code: err.code }, 'request failed');
  else if (err.statusCode > 500 && err.statusCode !== 503) request.log.warn({ code: err.code, error: err.message }, 'request failed');
  for (const [name, value] of Object.entries(err.headers)) reply.header(name, value);
  return reply.code(err.statusCode).send(body(err));
}

/** A Fastify error handler that answers in the given body shape. */
export function errorHandler(body: ErrorBody = plainErrorBody) {
  return (error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void => {
    void sendError(request, reply, error, body);
  };
}
