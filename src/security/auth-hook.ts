/**
 * The onRequest hook that enforces API keys. It is added at the root before the protocols are
 * registered, so every route inherits it; it throws ForjaErrors and each protocol's own error
 * handler turns them into that protocol's body (`{"error": "…"}` for v2 and jobs, OpenAI's shape
 * for /v1). 401 means no usable key, 403 a valid key without the route's scope.
 *
 * The key store is read on every request, so a config reload that replaces it applies at once; with
 * no keys configured the hook lets everything through. The access level and whether the dashboard
 * session cookie stands in for a key come from the matched route's own config (route-access.ts);
 * `GET /` without any credential is let through marked as needing a login, so the dashboard can
 * answer with its login form.
 */
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { errors } from '../errors.js';
import { hasScope, type ApiKeyStore, type Scope } from './api-keys.js';
import { identify, setIdentity, type Identity } from './credentials.js';
import { acceptsSessionCookie, accessOf } from './route-access.js';
import { isSameOrigin, sessionIdOf, type SessionStore } from './sessions.js';

const CHALLENGE = 'Bearer realm="forja"';

/** A CORS preflight carries no credentials by design; @fastify/cors answers it. */
export function isPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
}

const needsLogin = new WeakSet<FastifyRequest>();

/** True when the dashboard page was requested without a usable credential while keys are on. */
export function loginRequired(request: FastifyRequest): boolean {
  return needsLogin.has(request);
}

/** Whether the request was authenticated by a dashboard session cookie (rather than a header). */
const bySession = new WeakSet<FastifyRequest>();
export function authenticatedBySession(request: FastifyRequest): boolean {
  return bySession.has(request);
}

export function authHook(currentKeys: () => ApiKeyStore, sessions: SessionStore): onRequestAsyncHookHandler {
  return async (request) => {
    if (isPreflight(request)) return;
    const keys = currentKeys();
    if (keys.size === 0) return;
    const route = request.routeOptions.url;
    const access = accessOf(request);
    if (access === 'public' || access === 'webhook' || access === 'login') return;
    let identity = identify(request, keys);
    if (!identity.presented && acceptsSessionCookie(request)) {
      const key = sessions.resolve(sessionIdOf(request), keys);
      if (key) {
        // SameSite=Strict already keeps other sites' requests cookie-less; Origin is a second check.
        if (request.method !== 'GET' && request.method !== 'HEAD' && !isSameOrigin(request)) {
          throw errors.AUTH_FORBIDDEN('cross-origin request refused: the dashboard session works only from this server\'s own pages');
        }
        identity = { presented: true, key };
        setIdentity(request, identity);
        bySession.add(request);
      } else if (route === '/' && request.method !== 'POST') {
        needsLogin.add(request);
        return;
      }
    }
    requireScope(identity, access);
  };
}

/**
 * Throws 401 without a usable key and 403 for a key without the scope; every transport that takes
 * API keys (HTTP here, gRPC metadata in protocols/grpc) calls this, so the answers are the same.
 */
export function requireScope(identity: Identity, access: Scope): void {
  if (!identity.presented) {
    throw errors.AUTH_UNAUTHORIZED('missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"', { headers: { 'www-authenticate': CHALLENGE } });
  }
  if (!identity.key) {
    throw errors.AUTH_UNAUTHORIZED(identity.problem ?? 'invalid API key', { headers: { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` } });
  }
  if (!hasScope(identity.key, access)) {
    throw errors.AUTH_FORBIDDEN(`API key '${identity.key.name}' does not have the '${access}' scope this route needs`);
  }
}
