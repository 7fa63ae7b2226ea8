/**
 * OpenAI's error body: {"error": {"message", "type", "param", "code"}}, where `code` is OpenAI's
 * name for the error (what the official clients expose as `err.code`) or null, plus the top-level
 * `code` with the FORJA_ERR_… code every Forja error body carries. Sending is http/errors.ts's.
 */
import { errors, type ForjaError } from '../../errors.js';
import { errorHandler } from '../../http/errors.js';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
  code: string;
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
  [errors.REQUEST_TOO_LARGE.code]: 'request_too_large',
};

function typeFor(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function openAIErrorBody(err: ForjaError): OpenAIErrorBody {
  return {
    error: { message: err.message, type: typeFor(err.statusCode), param: err.param ?? null, code: CODES[err.code] ?? null },
    code: err.code,
  };
}

export const openAIErrorHandler = errorHandler(openAIErrorBody);
