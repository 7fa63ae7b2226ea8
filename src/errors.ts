/**
 * The one error catalogue. Every error Forja raises on purpose is a ForjaError with a stable
 * `code` (FORJA_ERR_<AREA>_<WHAT>) and an HTTP status; each protocol maps it to its own body
 * shape in one place (protocols/v2/errors.ts, protocols/openai/errors.ts …).
 * test/errors.test.ts pins this list and checks each code is documented in docs/errors.md.
 */

export class ForjaError extends Error {
  readonly code: string;
  readonly statusCode: number;
  /** Extra headers the HTTP layer should send (e.g. Retry-After). */
  readonly headers: Record<string, string>;
  /** For protocols that name the offending field (OpenAI's `param`). */
  readonly param: string | undefined;

  constructor(code: string, statusCode: number, message: string, options: { cause?: unknown; headers?: Record<string, string>; param?: string } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ForjaError';
    this.code = code;
    this.statusCode = statusCode;
    this.headers = options.headers ?? {};
    this.param = options.param;
  }
}

type ErrorFactory = (message: string, options?: { cause?: unknown; headers?: Record<string, string>; param?: string }) => ForjaError;

function createError(code: string, statusCode: number): ErrorFactory & { code: string; statusCode: number } {
  const factory = (message: string, options?: { cause?: unknown; headers?: Record<string, string>; param?: string }) =>
    new ForjaError(code, statusCode, message, options);
  return Object.assign(factory, { code, statusCode });
}

export const errors = {
  // request shape
  BAD_REQUEST: createError('FORJA_ERR_REQUEST_INVALID', 400),
  MALFORMED_JSON: createError('FORJA_ERR_REQUEST_MALFORMED_JSON', 400),
  BODY_TOO_LARGE: createError('FORJA_ERR_REQUEST_TOO_LARGE', 413),
  UNSUPPORTED_MEDIA: createError('FORJA_ERR_REQUEST_MEDIA_TYPE', 415),
  NOT_FOUND: createError('FORJA_ERR_ROUTE_NOT_FOUND', 404),
  UNAUTHORIZED: createError('FORJA_ERR_AUTH_UNAUTHORIZED', 401),
  FORBIDDEN: createError('FORJA_ERR_AUTH_FORBIDDEN', 403),
  RATE_LIMITED: createError('FORJA_ERR_RATE_LIMITED', 429),
  // tensors
  TENSOR_INVALID: createError('FORJA_ERR_TENSOR_INVALID', 400),
  TENSOR_DATATYPE: createError('FORJA_ERR_TENSOR_DATATYPE', 400),
  TENSOR_SHAPE: createError('FORJA_ERR_TENSOR_SHAPE', 400),
  // models
  MODEL_NOT_FOUND: createError('FORJA_ERR_MODEL_NOT_FOUND', 404),
  MODEL_VERSION_NOT_FOUND: createError('FORJA_ERR_MODEL_VERSION_NOT_FOUND', 404),
  MODEL_NAME_INVALID: createError('FORJA_ERR_MODEL_NAME_INVALID', 400),
  MODEL_UNAVAILABLE: createError('FORJA_ERR_MODEL_UNAVAILABLE', 503),
  MODEL_NOT_READY: createError('FORJA_ERR_MODEL_NOT_READY', 503),
  MODEL_MEMORY: createError('FORJA_ERR_MODEL_MEMORY_BUDGET', 503),
  MODEL_WRONG_KIND: createError('FORJA_ERR_MODEL_WRONG_KIND', 400),
  MODEL_CONFIG_INVALID: createError('FORJA_ERR_MODEL_CONFIG_INVALID', 400),
  // scheduling
  QUEUE_FULL: createError('FORJA_ERR_QUEUE_FULL', 503),
  TIMEOUT: createError('FORJA_ERR_REQUEST_TIMEOUT', 503),
  SHUTTING_DOWN: createError('FORJA_ERR_SHUTTING_DOWN', 503),
  INFERENCE_FAILED: createError('FORJA_ERR_INFERENCE_FAILED', 500),
  // llm
  CONTEXT_LENGTH_EXCEEDED: createError('FORJA_ERR_LLM_CONTEXT_LENGTH_EXCEEDED', 400),
  LLM_UNSUPPORTED: createError('FORJA_ERR_LLM_UNSUPPORTED_PARAMETER', 400),
  LLM_QUEUE_FULL: createError('FORJA_ERR_LLM_QUEUE_FULL', 429),
  UPSTREAM_FAILED: createError('FORJA_ERR_UPSTREAM_FAILED', 502),
  // config
  CONFIG_INVALID: createError('FORJA_ERR_CONFIG_INVALID', 400),
  // pipelines and jobs
  PIPELINE_NOT_FOUND: createError('FORJA_ERR_PIPELINE_NOT_FOUND', 404),
  PIPELINE_INPUT_INVALID: createError('FORJA_ERR_PIPELINE_INPUT_INVALID', 400),
  JOB_NOT_FOUND: createError('FORJA_ERR_JOB_NOT_FOUND', 404),
  JOB_STATE_CONFLICT: createError('FORJA_ERR_JOB_STATE_CONFLICT', 409),
  WEBHOOK_SIGNATURE: createError('FORJA_ERR_WEBHOOK_SIGNATURE', 401),
  // anything not raised on purpose
  INTERNAL: createError('FORJA_ERR_INTERNAL', 500),
} as const;

export type ErrorName = keyof typeof errors;

/** Turns anything thrown into a ForjaError; unknown errors become INTERNAL (a real bug). */
export function toForjaError(err: unknown): ForjaError {
  if (err instanceof ForjaError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return errors.INTERNAL(message, { cause: err });
}
