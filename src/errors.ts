/**
 * The one error catalogue. Every error Forja raises on purpose is a ForjaError with a stable
 * `code` (FORJA_ERR_<AREA>_<WHAT>) and an HTTP status; each protocol maps it to its own body
 * shape (http/errors.ts sends every error; protocols/openai/errors.ts declares OpenAI's shape).
 * test/errors.test.ts pins this list and checks each code is documented in docs/errors.md.
 */

export class ForjaError extends Error {
  readonly code: string;
  readonly statusCode: number;
  /** Extra headers the HTTP layer should send (e.g. Retry-After). */
  readonly headers: Record<string, string>;
  /** For protocols that name the offending field (OpenAI's `param`). */
  readonly param: string | undefined;
  /** Extra fields for the error body (e.g. the id of the job a request conflicts with). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, statusCode: number, message: string, options: ErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'ForjaError';
    this.code = code;
    this.statusCode = statusCode;
    this.headers = options.headers ?? {};
    this.param = options.param;
    this.details = options.details;
  }
}

export interface ErrorOptions {
  cause?: unknown;
  headers?: Record<string, string>;
  param?: string;
  details?: Record<string, unknown>;
}

type ErrorFactory = (message: string, options?: ErrorOptions) => ForjaError;

function createError(code: string, statusCode: number): ErrorFactory & { code: string; statusCode: number } {
  const factory = (message: string, options?: ErrorOptions) =>
    new ForjaError(code, statusCode, message, options);
  return Object.assign(factory, { code, statusCode });
}

const catalogue = {
  // request shape
  REQUEST_INVALID: 400,
  REQUEST_MALFORMED_JSON: 400,
  REQUEST_TOO_LARGE: 413,
  REQUEST_TOO_DEEP: 400,
  REQUEST_MEDIA_TYPE: 415,
  ROUTE_NOT_FOUND: 404,
  AUTH_UNAUTHORIZED: 401,
  AUTH_FORBIDDEN: 403,
  RATE_LIMITED: 429,
  // tensors
  TENSOR_INVALID: 400,
  TENSOR_DATATYPE: 400,
  TENSOR_SHAPE: 400,
  // models
  MODEL_NOT_FOUND: 404,
  MODEL_VERSION_NOT_FOUND: 404,
  MODEL_NAME_INVALID: 400,
  MODEL_UNAVAILABLE: 503,
  MODEL_NOT_READY: 503,
  MODEL_MEMORY_BUDGET: 503,
  MODEL_WRONG_KIND: 400,
  MODEL_CONFIG_INVALID: 400,
  MODEL_PULL_UNSUPPORTED: 501,
  // sequences (stateful models over REST and gRPC)
  SEQUENCE_ID_REQUIRED: 400,
  SEQUENCE_UNKNOWN: 400,
  // scheduling
  QUEUE_FULL: 503,
  REQUEST_TIMEOUT: 503,
  SHUTTING_DOWN: 503,
  SERVER_NOT_READY: 503,
  INFERENCE_FAILED: 500,
  // llm
  LLM_CONTEXT_LENGTH_EXCEEDED: 400,
  LLM_UNSUPPORTED_PARAMETER: 400,
  LLM_QUEUE_FULL: 429,
  UPSTREAM_FAILED: 502,
  // config
  CONFIG_INVALID: 400,
  // pipelines and jobs
  PIPELINE_NOT_FOUND: 404,
  PIPELINE_INPUT_INVALID: 400,
  JOB_NOT_FOUND: 404,
  JOB_STATE_CONFLICT: 409,
  JOB_IDEMPOTENCY_CONFLICT: 409,
  WEBHOOK_SIGNATURE: 401,
  QUEUE_UNAVAILABLE: 503,
  STORAGE_FULL: 503,
  // anything not raised on purpose
  INTERNAL: 500,
} as const;

type Catalogue = typeof catalogue;

/** `errors.NAME(message)` raises `FORJA_ERR_NAME`: each factory's name is its code without the prefix. */
export const errors = Object.fromEntries(
  Object.entries(catalogue).map(([name, status]) => [name, createError(`FORJA_ERR_${name}`, status)]),
) as { [Name in keyof Catalogue]: ReturnType<typeof createError> };

export type ErrorName = keyof typeof errors;

/** Turns anything thrown into a ForjaError; unknown errors become INTERNAL (a real bug). */
export function toForjaError(err: unknown): ForjaError {
  if (err instanceof ForjaError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return errors.INTERNAL(message, { cause: err });
}
