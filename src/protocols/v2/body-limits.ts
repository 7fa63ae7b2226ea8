/**
 * How big a v2 request may be. An infer request can never carry more than the model takes: every
 * input at its fixed dimensions with max_batch_size rows, at most JSON_BYTES_PER_ELEMENT bytes per
 * value as JSON, plus room for the envelope. A bigger body is refused from its Content-Length before
 * a byte of it is read. Models whose size is open (not loaded yet, a dynamic non-batch dimension,
 * BYTES inputs, batching off) are bounded by server.body_limit_bytes.
 */
import type { FastifyRequest } from 'fastify';
import { errors, type ForjaError } from '../../errors.js';
import type { InferenceService } from '../../inference/inference-service.js';

/** Generous: "-1.2345678901234567e-308, " is 26; nesting brackets and indentation add a few per value. */
export const JSON_BYTES_PER_ELEMENT = 64;
/** Names, datatypes, shapes, parameters and the output list around the tensor data. */
export const ENVELOPE_BYTES = 64 * 1024;
/** Repository requests carry a few flags at most. */
export const REPOSITORY_BODY_LIMIT = 64 * 1024;

export interface InferLimit {
  bytes: number;
  /** Why this is the limit, and which setting moves it. */
  because: string;
}

export function inferLimit(inference: InferenceService, model: string, version: string | undefined, serverLimit: number): InferLimit {
  const server = { bytes: serverLimit, because: 'server.body_limit_bytes' };
  const bound = inference.requestBound(model, version);
  if (!bound) return server;
  const bytes = ENVELOPE_BYTES + bound.elements * JSON_BYTES_PER_ELEMENT;
  if (bytes >= serverLimit) return server;
  return {
    bytes,
    because: `model '${model}' takes at most ${bound.elements} values per request (max_batch_size ${bound.maxBatchSize}), ` +
      `${JSON_BYTES_PER_ELEMENT} bytes each as JSON plus ${ENVELOPE_BYTES} for the envelope; send fewer rows, or raise max_batch_size (model.yaml or models.max_batch_size)`,
  };
}

export function tooLarge(size: number, limit: InferLimit): ForjaError {
  return errors.REQUEST_TOO_LARGE(`the request body of ${size} bytes is larger than the limit of ${limit.bytes} bytes (${limit.because})`);
}

/** preParsing hook for the infer routes: refuses a declared Content-Length over the model's limit at once. */
export function inferLimitHook(inference: InferenceService, serverLimit: number) {
  return async (request: FastifyRequest<{ Params: { model: string; version?: string } }>) => {
    const declared = Number(request.headers['content-length']);
    if (!Number.isFinite(declared)) return;
    const limit = inferLimit(inference, request.params.model, request.params.version, serverLimit);
    if (declared > limit.bytes) throw tooLarge(declared, limit);
  };
}
