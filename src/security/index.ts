/**
 * Wires the security pieces into the root of the Fastify app, in request order: security headers,
 * CORS, rate limit, API keys. Call it before the protocols are registered so their routes inherit
 * the hooks. Refuses (throws CONFIG_INVALID) to serve a non-loopback address without keys unless
 * `security.allow_unauthenticated_remote` is set. See docs/security.md.
 *
 * The returned Security object holds the settings in force; the hooks read it on every request, so
 * apply() (called on a config reload) changes keys, CORS origins and the rate limit without a restart.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import helmet from '@fastify/helmet';
import cors from '@fastify/cors';
import type { Logger } from 'pino';
import type { ForjaConfig } from '../config/schema.js';
import { loadApiKeys, type ApiKeyStore } from './api-keys.js';
import { authHook } from './auth-hook.js';
import { assertSafeBinding } from './exposure.js';
import { registerRateLimit, type CallLimiter } from './rate-limit.js';
import { requireRouteAccess } from './route-access.js';
import { SessionStore } from './sessions.js';

export { ApiKeyStore, loadApiKeys, parseApiKeys, hasScope, SCOPES, type ApiKey, type Scope } from './api-keys.js';
export { accessOf, acceptsSessionCookie, requireRouteAccess, type Access } from './route-access.js';
export { isLoopbackHost, assertSafeBinding } from './exposure.js';
export { principalOf, secretIn, identityOf, type Identity } from './credentials.js';
export { loginRequired, authenticatedBySession, requireScope } from './auth-hook.js';
export type { CallLimiter, CallOrigin } from './rate-limit.js';
export { SessionStore, sessionIdOf, sessionCookie, isSameOrigin, CLEAR_SESSION_COOKIE } from './sessions.js';

type SecurityConfig = ForjaConfig['security'];

export interface SecurityOptions {
  security: SecurityConfig;
  host: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

export interface Security {
  /** The API keys in force now. */
  readonly keys: ApiKeyStore;
  readonly sessions: SessionStore;
  /** Every route registered after the security layer, with its config (access, docs …). */
  readonly routes: readonly RouteOptions[];
  /**
   * Whether a reload can change the rate limit: only when limiting was on at start (the plugin is
   * registered then; registering it later is not possible on a listening server).
   */
  readonly rateLimitReloadable: boolean;
  /**
   * The HTTP rate limit for a call that does not come through Fastify (gRPC): the same buckets and
   * message; throws RATE_LIMITED over the limit. Lets everything through when limiting was off at start.
   */
  readonly limitCall: CallLimiter;
  /**
   * Takes a reloaded security section: reads the keys again (environment variable and key file),
   * and switches CORS origins and the rate limit. Throws, keeping every running setting, when the
   * new keys are invalid or would leave a non-loopback server without keys.
   */
  apply(security: SecurityConfig): { keys: string[] };
}

export async function registerSecurity(app: FastifyInstance, options: SecurityOptions): Promise<Security> {
  let settings = options.security;
  let keys = loadApiKeys({ envName: settings.api_keys_env, file: settings.api_keys_file, env: options.env });
  assertSafeBinding(options.host, keys.size, settings.allow_unauthenticated_remote);
  const sessions = new SessionStore();
  // First, so it sees every route, the plugins' own included.
  const routes = requireRouteAccess(app);
  // @fastify/cors adds `OPTIONS *` to answer preflights, which carry no credentials by design and
  // pass the auth hook as preflights; any other OPTIONS request that lands there needs admin.
  app.addHook('onRoute', (route) => {
    if (route.url === '*' && route.method === 'OPTIONS' && route.config?.access === undefined) route.config = { ...route.config, access: 'admin' };
  });
  const rateLimitReloadable = settings.rate_limit.requests_per_minute > 0;

  await app.register(helmet, {
    // Forja speaks plain HTTP; HSTS and upgrading requests belong to the TLS proxy in front of it,
    // and upgrade-insecure-requests would break /docs served over http on a LAN address.
    hsts: false,
    contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': null } },
    // Only pages a browser renders get the headers: on the JSON inference path they cost ~0.1 ms
    // per request and protect nothing.
    global: false,
  });
  // Documented API routes answer programs; everything else (dashboard, /docs, 404 pages) gets the headers.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.routeOptions.config?.docs) await reply.helmet();
  });
  // Always registered, with the allowlist read per request, so origins added by a reload apply.
  // An empty list answers `false`: no CORS headers, browsers refuse cross-origin calls.
  await app.register(cors, {
    origin: (origin: string | undefined, cb: (err: Error | null, allow: string | boolean) => void) => {
      const allowed = settings.cors_origins;
      if (allowed.includes('*')) return cb(null, '*');
      cb(null, origin !== undefined && allowed.includes(origin) ? origin : false);
    },
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['authorization', 'x-api-key', 'content-type', 'inference-header-content-length', 'x-request-id', 'idempotency-key'],
    exposedHeaders: ['x-request-id', 'retry-after', 'location', 'inference-header-content-length'],
    maxAge: 600,
  });
  const limitCall: CallLimiter = rateLimitReloadable ? await registerRateLimit(app, () => settings.rate_limit.requests_per_minute, () => keys) : () => undefined;
  // Always installed: it lets everything through while no keys are configured, and a reload may add some.
  app.addHook('onRequest', authHook(() => keys, sessions));
  options.logger?.info({ apiKeys: keys.names(), corsOrigins: settings.cors_origins, requestsPerMinute: settings.rate_limit.requests_per_minute }, keys.size > 0 ? 'API keys required' : 'API keys off');

  return {
    get keys() {
      return keys;
    },
    sessions,
    routes,
    rateLimitReloadable,
    limitCall,
    apply(next) {
      // Everything is checked before anything changes, so a bad key file leaves the old keys in force.
      const nextKeys = loadApiKeys({ envName: next.api_keys_env, file: next.api_keys_file, env: options.env });
      assertSafeBinding(options.host, nextKeys.size, next.allow_unauthenticated_remote);
      keys = nextKeys;
      settings = next;
      return { keys: keys.names() };
    },
  };
}

