/**
 * The one place where a Forja error becomes a gRPC status: the code follows the error's HTTP status
 * (with a few errors that gRPC names more precisely), the details are the same message REST sends,
 * and the trailing metadata carries the stable code (`forja-error-code: FORJA_ERR_…`) and, when
 * REST would send Retry-After, `retry-after`.
 */
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { toForjaError, type ForjaError } from '../../errors.js';

export const ERROR_CODE_KEY = 'forja-error-code';

const BY_CODE: Record<string, Status> = {
  FORJA_ERR_QUEUE_FULL: Status.RESOURCE_EXHAUSTED,
  FORJA_ERR_LLM_QUEUE_FULL: Status.RESOURCE_EXHAUSTED,
  FORJA_ERR_RATE_LIMITED: Status.RESOURCE_EXHAUSTED,
  FORJA_ERR_REQUEST_TOO_LARGE: Status.RESOURCE_EXHAUSTED,
  FORJA_ERR_REQUEST_TIMEOUT: Status.DEADLINE_EXCEEDED,
};

const BY_HTTP_STATUS: Record<number, Status> = {
  400: Status.INVALID_ARGUMENT,
  401: Status.UNAUTHENTICATED,
  403: Status.PERMISSION_DENIED,
  404: Status.NOT_FOUND,
  409: Status.FAILED_PRECONDITION,
  413: Status.RESOURCE_EXHAUSTED,
  415: Status.INVALID_ARGUMENT,
  429: Status.RESOURCE_EXHAUSTED,
  502: Status.UNAVAILABLE,
  503: Status.UNAVAILABLE,
};

export function grpcCodeOf(error: ForjaError): Status {
  return BY_CODE[error.code] ?? BY_HTTP_STATUS[error.statusCode] ?? Status.INTERNAL;
}

export function toServiceError(err: unknown): ServiceError & { forja: ForjaError } {
  const forja = toForjaError(err);
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, forja.code);
  if (forja.headers['retry-after']) metadata.set('retry-after', forja.headers['retry-after']);
  return Object.assign(new Error(forja.message), { code: grpcCodeOf(forja), details: forja.message, metadata, forja });
}
