import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errors, ForjaError, toForjaError } from '../src/errors.js';

// dist/test/errors.test.js -> docs/errors.md at the repository root
const DOCS = readFileSync(fileURLToPath(new URL('../../docs/errors.md', import.meta.url)), 'utf8');

/** The whole catalogue. Adding, renaming or re-statusing a code means changing this list and docs/errors.md. */
const EXPECTED: Record<string, [code: string, status: number]> = {
  REQUEST_INVALID: ['FORJA_ERR_REQUEST_INVALID', 400],
  REQUEST_MALFORMED_JSON: ['FORJA_ERR_REQUEST_MALFORMED_JSON', 400],
  REQUEST_TOO_LARGE: ['FORJA_ERR_REQUEST_TOO_LARGE', 413],
  REQUEST_TOO_DEEP: ['FORJA_ERR_REQUEST_TOO_DEEP', 400],
  REQUEST_MEDIA_TYPE: ['FORJA_ERR_REQUEST_MEDIA_TYPE', 415],
  ROUTE_NOT_FOUND: ['FORJA_ERR_ROUTE_NOT_FOUND', 404],
  AUTH_UNAUTHORIZED: ['FORJA_ERR_AUTH_UNAUTHORIZED', 401],
  AUTH_FORBIDDEN: ['FORJA_ERR_AUTH_FORBIDDEN', 403],
  RATE_LIMITED: ['FORJA_ERR_RATE_LIMITED', 429],
  TENSOR_INVALID: ['FORJA_ERR_TENSOR_INVALID', 400],
  TENSOR_DATATYPE: ['FORJA_ERR_TENSOR_DATATYPE', 400],
  TENSOR_SHAPE: ['FORJA_ERR_TENSOR_SHAPE', 400],
  MODEL_NOT_FOUND: ['FORJA_ERR_MODEL_NOT_FOUND', 404],
  MODEL_VERSION_NOT_FOUND: ['FORJA_ERR_MODEL_VERSION_NOT_FOUND', 404],
  MODEL_NAME_INVALID: ['FORJA_ERR_MODEL_NAME_INVALID', 400],
  MODEL_UNAVAILABLE: ['FORJA_ERR_MODEL_UNAVAILABLE', 503],
  MODEL_NOT_READY: ['FORJA_ERR_MODEL_NOT_READY', 503],
  MODEL_MEMORY_BUDGET: ['FORJA_ERR_MODEL_MEMORY_BUDGET', 503],
  MODEL_WRONG_KIND: ['FORJA_ERR_MODEL_WRONG_KIND', 400],
  MODEL_CONFIG_INVALID: ['FORJA_ERR_MODEL_CONFIG_INVALID', 400],
  MODEL_PULL_UNSUPPORTED: ['FORJA_ERR_MODEL_PULL_UNSUPPORTED', 501],
  SEQUENCE_ID_REQUIRED: ['FORJA_ERR_SEQUENCE_ID_REQUIRED', 400],
  SEQUENCE_UNKNOWN: ['FORJA_ERR_SEQUENCE_UNKNOWN', 400],
  QUEUE_FULL: ['FORJA_ERR_QUEUE_FULL', 503],
  REQUEST_TIMEOUT: ['FORJA_ERR_REQUEST_TIMEOUT', 503],
  SHUTTING_DOWN: ['FORJA_ERR_SHUTTING_DOWN', 503],
  SERVER_NOT_READY: ['FORJA_ERR_SERVER_NOT_READY', 503],
  INFERENCE_FAILED: ['FORJA_ERR_INFERENCE_FAILED', 500],
  LLM_CONTEXT_LENGTH_EXCEEDED: ['FORJA_ERR_LLM_CONTEXT_LENGTH_EXCEEDED', 400],
  LLM_UNSUPPORTED_PARAMETER: ['FORJA_ERR_LLM_UNSUPPORTED_PARAMETER', 400],
  LLM_QUEUE_FULL: ['FORJA_ERR_LLM_QUEUE_FULL', 429],
  UPSTREAM_FAILED: ['FORJA_ERR_UPSTREAM_FAILED', 502],
  CONFIG_INVALID: ['FORJA_ERR_CONFIG_INVALID', 400],
  PIPELINE_NOT_FOUND: ['FORJA_ERR_PIPELINE_NOT_FOUND', 404],
  PIPELINE_INPUT_INVALID: ['FORJA_ERR_PIPELINE_INPUT_INVALID', 400],
  JOB_NOT_FOUND: ['FORJA_ERR_JOB_NOT_FOUND', 404],
  JOB_STATE_CONFLICT: ['FORJA_ERR_JOB_STATE_CONFLICT', 409],
  JOB_IDEMPOTENCY_CONFLICT: ['FORJA_ERR_JOB_IDEMPOTENCY_CONFLICT', 409],
  WEBHOOK_SIGNATURE: ['FORJA_ERR_WEBHOOK_SIGNATURE', 401],
  QUEUE_UNAVAILABLE: ['FORJA_ERR_QUEUE_UNAVAILABLE', 503],
  STORAGE_FULL: ['FORJA_ERR_STORAGE_FULL', 503],
  INTERNAL: ['FORJA_ERR_INTERNAL', 500],
};

describe('error catalogue', () => {
  test('the codes and statuses are exactly the pinned list', () => {
    const actual = Object.fromEntries(Object.entries(errors).map(([name, f]) => [name, [f.code, f.statusCode]]));
    assert.deepEqual(actual, EXPECTED);
  });

  test('codes are unique and follow FORJA_ERR_<AREA>_<WHAT>', () => {
    const codes = Object.values(errors).map((f) => f.code);
    assert.equal(new Set(codes).size, codes.length);
    for (const code of codes) assert.match(code, /^FORJA_ERR_[A-Z]+(_[A-Z]+)*$/);
  });

  test('every code has a row in docs/errors.md with its status', () => {
    for (const { code, statusCode } of Object.values(errors)) {
      const row = DOCS.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
      assert.ok(row, `docs/errors.md has no table row for ${code}`);
      assert.match(row, new RegExp(`^\\| \`${code}\` \\| ${statusCode} \\|`), `docs/errors.md gives ${code} the wrong status`);
    }
  });

  test('a factory builds a ForjaError with its code, status, message and options', () => {
    const cause = new Error('root');
    const err = errors.QUEUE_FULL('full', { headers: { 'retry-after': '1' }, cause, param: 'p' });
    assert.ok(err instanceof ForjaError && err instanceof Error);
    assert.equal(err.name, 'ForjaError');
    assert.deepEqual([err.code, err.statusCode, err.message, err.param, err.cause], ['FORJA_ERR_QUEUE_FULL', 503, 'full', 'p', cause]);
    assert.deepEqual(err.headers, { 'retry-after': '1' });
  });
});

describe('toForjaError', () => {
  test('turns a plain Error into FORJA_ERR_INTERNAL 500, keeping message and cause', () => {
    const plain = new TypeError('x is undefined');
    const err = toForjaError(plain);
    assert.equal(err.code, 'FORJA_ERR_INTERNAL');
    assert.equal(err.statusCode, 500);
    assert.equal(err.message, 'x is undefined');
    assert.equal(err.cause, plain);
  });

  test('passes a ForjaError through unchanged and stringifies non-errors', () => {
    const original = errors.MODEL_NOT_FOUND('nope');
    assert.equal(toForjaError(original), original);
    assert.equal(toForjaError('boom').message, 'boom');
    assert.equal(toForjaError('boom').code, 'FORJA_ERR_INTERNAL');
  });
});
