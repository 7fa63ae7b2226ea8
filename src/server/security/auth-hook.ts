/**
 * The onRequest hook that enforces API keys. It is added at the root before the protocols are
 * registered, so every route inherits it; it throws ForjaErrors and each protocol's own error
 * handler turns them into that protocol's body (`{"error": "…"}` for v2 and jobs, OpenAI's shape
 * for /v1). 401 means no usable key, 403 a valid key without the route's scope.
 */
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { errors } from '../../errors.js';
import { hasScope, type ApiKeyStore } from './api-keys.js';
import { identify } from './credentials.js';
import { accessFor } from './route-scopes.js';

const CHALLENGE = 'Bearer realm="forja"';

/** A CORS preflight carries no credentials by design; @fastify/cors answers it. */
export function isPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
}

export function authHook(keys: ApiKeyStore): onRequestAsyncHookHandler {
  return async (request) => {
    if (isPreflight(request)) return;
    const access = accessFor(request.routeOptions.url);
    if (access === 'public' || access === 'webhook') return;
    const identity = identify(request, keys);
    if (!identity.presented) {
      throw errors.UNAUTHORIZED('missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"', { headers: { 'www-authenticate': CHALLENGE } });
    }
    if (!identity.key) {
      throw errors.UNAUTHORIZED(identity.problem ?? 'invalid API key', { headers: { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` } });
    }
    if (!hasScope(identity.key, access)) {
      throw errors.FORBIDDEN(`API key '${identity.key.name}' does not have the '${access}' scope this route needs`);
    }
  };
}
