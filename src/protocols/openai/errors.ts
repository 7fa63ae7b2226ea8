/**
 * OpenAI's error body: {"error": {"message", "type", "param", "code"}}. The one mapping from
 * ForjaError (and Fastify's own client errors) to it, used as the plugin's error handler.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errors, type ForjaError } from '../../errors.js';
import { toHttpError } from '../../server/http-errors.js';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const CODES: Record<string, string> = {
  [errors.MODEL_NOT_FOUND.code]: 'model_not_found',
  [errors.LLM_CONTEXT_LENGTH_EXCEEDED.code]: 'context_length_exceeded',
  [errors.LLM_UNSUPPORTED_PARAMETER.code]: 'unsupported_parameter',
  [errors.LLM_QUEUE_FULL.code]: 'rate_limit_exceeded',
  [errors.RATE_LIMITED.code]: 'rate_limit_exceeded',
  [errors.AUTH_UNAUTHORIZED.code]: 'invalid_api_key',
  [errors.AUTH_FORBIDDEN.code]: 'insufficient_scope',
  [errors.REQUEST_MALFORMED_JSON.code]: 'invalid_json',
  [errors.MODEL_WRONG_KIND.code]: 'model_not_supported',
  [errors.MODEL_UNAVAILABLE.code]: 'model_unavailable',
  [errors.UPSTREAM_FAILED.code]: 'upstream_failed',
  [errors.REQUEST_INVALID.code]: 'invalid_value',
};

function typeFor(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function openAIErrorBody(err: ForjaError): OpenAIErrorBody {
  return { error: { message: err.message, type: typeFor(err.statusCode), param: err.param ?? null, code: CODES[err.code] ?? null } };
}

export function openAIErrorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const err = toHttpError(error);
  if (err.statusCode >= 500) request.log.error({ err: error }, 'openai request failed');
  for (const [name, value] of Object.entries(err.headers)) reply.header(name, value);
  void reply.code(err.statusCode).send(openAIErrorBody(err));
}
