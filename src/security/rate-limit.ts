/**
 * Per-key (or, without a key, per client IP) request limits over a one-minute window, using
 * @fastify/rate-limit's in-memory store. Runs before the auth hook so that guessing keys is
 * throttled too: a request with an unknown key counts against its IP. Over the limit the request
 * gets 429 with Retry-After, in the protocol's own error body.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { errors } from '../errors.js';
import type { ApiKeyStore } from './api-keys.js';
import { identify } from './credentials.js';
import { accessOf } from './route-access.js';
import { isPreflight } from './auth-hook.js';

const WINDOW_MS = 60_000;

export function rateLimitKey(request: FastifyRequest, keys: ApiKeyStore): string {
  const key = keys.size > 0 ? identify(request, keys).key : undefined;
  return key ? `key:${key.name}` : `ip:${request.ip}`;
}

/**
 * `requestsPerMinute` and `keys` are read per request, so a config reload changes the limit (0
 * turns it off) and the keys buckets are named after.
 */
export async function registerRateLimit(app: FastifyInstance, requestsPerMinute: () => number, keys: () => ApiKeyStore): Promise<void> {
  await app.register(rateLimit, {
    // Added below as one root hook rather than per route, so it also covers unmatched URLs.
    global: false,
    max: () => requestsPerMinute(),
    timeWindow: WINDOW_MS,
    keyGenerator: (request) => rateLimitKey(request, keys()),
    // Health probes must not be starved by a busy client on the same address.
    allowList: (request) => requestsPerMinute() === 0 || isPreflight(request) || accessOf(request) === 'public',
    errorResponseBuilder: (_request, context) => errors.RATE_LIMITED(
      `rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`,
      { headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) } }),
  });
  app.addHook('onRequest', app.rateLimit());
}
