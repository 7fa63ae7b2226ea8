/**
 * Wires the security pieces into the root of the Fastify app, in request order: security headers,
 * CORS, rate limit, API keys. Call it before the protocols are registered so their routes inherit
 * the hooks. Refuses (throws CONFIG_INVALID) to serve a non-loopback address without keys unless
 * `security.allow_unauthenticated_remote` is set. See docs/security.md.
 */
import type { FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';
import cors from '@fastify/cors';
import type { Logger } from 'pino';
import type { ForjaConfig } from '../../config/schema.js';
import { loadApiKeys, type ApiKeyStore } from './api-keys.js';
import { authHook } from './auth-hook.js';
import { assertSafeBinding } from './exposure.js';
import { registerRateLimit } from './rate-limit.js';

export { ApiKeyStore, loadApiKeys, parseApiKeys, hasScope, SCOPES, type ApiKey, type Scope } from './api-keys.js';
export { accessFor, type Access } from './route-scopes.js';
export { isLoopbackHost, assertSafeBinding } from './exposure.js';
export { principalOf } from './credentials.js';

export interface SecurityOptions {
  security: ForjaConfig['security'];
  host: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

export async function registerSecurity(app: FastifyInstance, options: SecurityOptions): Promise<ApiKeyStore> {
  const s = options.security;
  const keys = loadApiKeys({ envName: s.api_keys_env, file: s.api_keys_file, env: options.env });
  assertSafeBinding(options.host, keys.size, s.allow_unauthenticated_remote);

  await app.register(helmet, {
    // Forja speaks plain HTTP; HSTS and upgrading requests belong to the TLS proxy in front of it,
    // and upgrade-insecure-requests would break /docs served over http on a LAN address.
    hsts: false,
    contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': null } },
    // Only pages a browser renders get the headers: on the JSON inference path they cost ~0.1 ms
    // per request and protect nothing.
    global: false,
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!isApiPath(request.url)) await reply.helmet();
  });
  if (s.cors_origins.length > 0) {
    await app.register(cors, {
      origin: s.cors_origins.includes('*') ? '*' : [...s.cors_origins],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['authorization', 'x-api-key', 'content-type', 'inference-header-content-length', 'x-request-id', 'idempotency-key'],
      exposedHeaders: ['x-request-id', 'retry-after', 'location', 'inference-header-content-length'],
      maxAge: 600,
    });
  }
  if (s.rate_limit.requests_per_minute > 0) await registerRateLimit(app, s.rate_limit.requests_per_minute, keys);
  if (keys.size > 0) app.addHook('onRequest', authHook(keys));
  options.logger?.info({ apiKeys: keys.names(), corsOrigins: s.cors_origins, requestsPerMinute: s.rate_limit.requests_per_minute }, keys.size > 0 ? 'API keys required' : 'API keys off');
  return keys;
}

/** Machine-facing JSON routes; everything else (dashboard, /docs, 404 pages) gets browser headers. */
function isApiPath(url: string): boolean {
  return url.startsWith('/v2/') || url.startsWith('/v1/') || url.startsWith('/api/') || url.startsWith('/hooks/') || url === '/metrics' || url === '/v2';
}
