/**
 * One converter and one sender for every protocol: each error body carries a catalogued
 * FORJA_ERR_… code (top-level `code`) with that code's status, whatever raised it: Forja itself,
 * Fastify's body parsers, or a plugin. Nothing leaves with a code that is not in src/errors.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errors, ForjaError } from '../../src/errors.js';
import { toHttpError } from '../../src/http/errors.js';
import { startSecureServer, type SecureServer } from '../security/harness.js';

const CATALOGUE = new Map(Object.values(errors).map((f) => [f.code, f.statusCode]));

describe('toHttpError', () => {
  test('maps Fastify and plugin errors onto catalogued codes, never inventing one', () => {
    const fastify = (code: string, statusCode: number) => Object.assign(new Error(code), { code, statusCode });
    const cases: Array<[unknown, string]> = [
      [fastify('FST_ERR_CTP_BODY_TOO_LARGE', 413), 'FORJA_ERR_REQUEST_TOO_LARGE'],
      [fastify('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415), 'FORJA_ERR_REQUEST_MEDIA_TYPE'],
      [fastify('FST_ERR_CTP_INVALID_JSON_BODY', 400), 'FORJA_ERR_REQUEST_MALFORMED_JSON'],
      [fastify('FST_ERR_CTP_INVALID_TYPE', 400), 'FORJA_ERR_REQUEST_INVALID'],
      [fastify('FST_ERR_BAD_URL', 400), 'FORJA_ERR_REQUEST_INVALID'],
      [fastify('SOME_PLUGIN_LIMIT', 429), 'FORJA_ERR_RATE_LIMITED'],
      [fastify('SOME_PLUGIN_CONFLICT', 409), 'FORJA_ERR_REQUEST_INVALID'],
      [new SyntaxError('Unexpected token'), 'FORJA_ERR_REQUEST_MALFORMED_JSON'],
      [new TypeError('x is undefined'), 'FORJA_ERR_INTERNAL'],
      [fastify('FST_ERR_SOMETHING', 500), 'FORJA_ERR_INTERNAL'],
    ];
    for (const [thrown, code] of cases) {
      const err = toHttpError(thrown);
      assert.ok(err instanceof ForjaError);
      assert.equal(err.code, code, String((thrown as Error).message));
      assert.equal(err.statusCode, CATALOGUE.get(code), `${code} keeps its catalogued status`);
    }
  });
});

describe('every error body carries its code', () => {
  let s: SecureServer;
  before(async () => { s = await startSecureServer({}, undefined, { server: { host: '127.0.0.1', port: 0, body_limit_bytes: 4096 } }); });
  after(() => s?.close());

  const send = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
    const res = await fetch(s.url + path, { method, body, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers } });
    return { status: res.status, json: await res.json() as Record<string, any> };
  };

  test('v2, OpenAI, jobs, webhooks, the dashboard and unknown routes', async () => {
    const big = JSON.stringify({ pipeline: 'echo', input: { pad: 'x'.repeat(2_000_000) } });
    const cases: Array<[string, string, string | undefined, string, Record<string, string>?]> = [
      ['POST', '/v2/models/add/infer', '{"inputs": [', 'FORJA_ERR_REQUEST_MALFORMED_JSON'],
      ['POST', '/v2/models/nope/infer', '{"inputs": [{"name": "A", "shape": [1], "datatype": "FP32", "data": [1]}]}', 'FORJA_ERR_MODEL_NOT_FOUND'],
      ['GET', '/v2/models/nope/ready', undefined, 'FORJA_ERR_MODEL_NOT_FOUND'],
      ['POST', '/v2/models/add/infer', 'x'.repeat(5000), 'FORJA_ERR_REQUEST_TOO_LARGE'],
      ['POST', '/v1/chat/completions', '{"model": ', 'FORJA_ERR_REQUEST_MALFORMED_JSON'],
      ['POST', '/v1/chat/completions', '{"model": "nope", "messages": [{"role": "user", "content": "hi"}]}', 'FORJA_ERR_MODEL_NOT_FOUND'],
      ['POST', '/api/jobs', '{"pipeline": ', 'FORJA_ERR_REQUEST_MALFORMED_JSON'],
      ['POST', '/api/jobs', '{"pipeline": "nope", "input": {}}', 'FORJA_ERR_PIPELINE_NOT_FOUND'],
      ['POST', '/api/jobs', big, 'FORJA_ERR_REQUEST_TOO_LARGE'],
      ['POST', '/api/jobs', 'pipeline=echo', 'FORJA_ERR_REQUEST_MEDIA_TYPE', { 'content-type': 'application/xml' }],
      ['GET', '/api/jobs/does-not-exist', undefined, 'FORJA_ERR_JOB_NOT_FOUND'],
      ['POST', '/hooks/nope', '{}', 'FORJA_ERR_PIPELINE_NOT_FOUND'],
      ['GET', '/dashboard/nope.js', undefined, 'FORJA_ERR_ROUTE_NOT_FOUND'],
      ['GET', '/no/such/route', undefined, 'FORJA_ERR_ROUTE_NOT_FOUND'],
    ];
    for (const [method, path, body, code, headers] of cases) {
      const r = await send(method, path, body, headers);
      const what = `${method} ${path} → ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`;
      assert.equal(r.json.code, code, what);
      assert.equal(r.status, CATALOGUE.get(code), what);
      const message = path.startsWith('/v1/') ? r.json.error.message : r.json.error;
      assert.equal(typeof message, 'string', what);
    }
  });
});
