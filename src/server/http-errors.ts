/**
 * The one place where anything thrown inside a request becomes a ForjaError with an HTTP status.
 * Fastify's own client errors (body too large, bad content type, malformed JSON) keep their
 * status; anything unknown is a 500 and a bug.
 */
import { errors, ForjaError } from '../errors.js';

const FASTIFY_CODES: Record<string, (message: string) => ForjaError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (m) => errors.REQUEST_TOO_LARGE(m),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (m) => errors.REQUEST_MEDIA_TYPE(m),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: (m) => errors.REQUEST_INVALID(m),
  FST_ERR_CTP_EMPTY_JSON_BODY: (m) => errors.REQUEST_MALFORMED_JSON(m),
  FST_ERR_CTP_INVALID_JSON_BODY: (m) => errors.REQUEST_MALFORMED_JSON(m),
};

export function toHttpError(error: unknown): ForjaError {
  if (error instanceof ForjaError) return error;
  const e = error as { code?: string; statusCode?: number; message?: string };
  const message = e?.message ?? String(error);
  if (e?.code && FASTIFY_CODES[e.code]) return FASTIFY_CODES[e.code](message);
  if (error instanceof SyntaxError) return errors.REQUEST_MALFORMED_JSON(`malformed JSON body: ${message}`);
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new ForjaError(e.code ?? 'FORJA_ERR_REQUEST_INVALID', e.statusCode, message);
  return errors.INTERNAL(message, { cause: error });
}
