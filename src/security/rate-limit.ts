/**
 * Per-key (or, without a key, per client IP) request limits over a one-minute window. HTTP requests
 * go through @fastify/rate-limit's hook; gRPC calls through limitCall(); both count in the same
 * buckets (RateWindows), so a client has one budget whichever protocol it speaks. Runs before the
 * auth check so that guessing keys is throttled too: a request with an unknown key counts against
 * its IP. Over the limit the request gets 429 with Retry-After (RESOURCE_EXHAUSTED over gRPC), with
 * the same message, in the protocol's own error shape.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { errors, type ForjaError } from '../errors.js';
import type { ApiKey, ApiKeyStore } from './api-keys.js';
import { identify, identityOf, secretIn } from './credentials.js';
import { accessOf } from './route-access.js';
import { isPreflight } from './auth-hook.js';

const WINDOW_MS = 60_000;
/** Buckets remembered at most (least recently used forgotten first), as the plugin's own store. */
const MAX_BUCKETS = 5000;

/** Fixed windows per bucket: each hit counts one request in the bucket's current window. */
export class RateWindows {
  private readonly windows = new Map<string, { count: number; startedAt: number }>();

  hit(bucket: string, windowMs: number, now = Date.now()): { count: number; ttlMs: number } {
    let window = this.windows.get(bucket);
    if (!window || window.startedAt + windowMs <= now) window = { count: 0, startedAt: now };
    window.count++;
    // Re-inserted, so the Map's first entry is always the least recently used.
    this.windows.delete(bucket);
    this.windows.set(bucket, window);
    if (this.windows.size > MAX_BUCKETS) this.windows.delete(this.windows.keys().next().value!);
    return { count: window.count, ttlMs: window.startedAt + windowMs - now };
  }
}

function bucketOf(key: ApiKey | undefined, ip: string): string {
  return key ? `key:${key.name}` : `ip:${ip}`;
}

export function rateLimitKey(request: FastifyRequest, keys: ApiKeyStore): string {
  return bucketOf(keys.size > 0 ? identify(request, keys).key : undefined, request.ip);
}

/** The one over-the-limit error, for HTTP and gRPC alike. */
export function rateLimited(max: number, ttlMs: number): ForjaError {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  return errors.RATE_LIMITED(`rate limit of ${max} requests per minute exceeded; retry in ${seconds} second${seconds === 1 ? '' : 's'}`, { headers: { 'retry-after': String(seconds) } });
}

/** The credentials of a call that is not a Fastify request (gRPC metadata), and its client address. */
export interface CallOrigin {
  authorization?: string;
  apiKey?: string;
  ip: string;
}

/** Counts one call in its bucket; throws RATE_LIMITED over the limit. */
export type CallLimiter = (origin: CallOrigin) => void;

/** @fastify/rate-limit's store interface over the shared windows (every route uses the one store). */
function sharedStore(windows: RateWindows): FastifyRateLimitStoreCtor {
  return class implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const { count, ttlMs } = windows.hit(key, timeWindow);
      callback(null, { current: count, ttl: ttlMs });
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  };
}

/**
 * `requestsPerMinute` and `keys` are read per request, so a config reload changes the limit (0
 * turns it off) and the keys buckets are named after. Returns the same limit for gRPC calls.
 */
export async function registerRateLimit(app: FastifyInstance, requestsPerMinute: () => number, keys: () => ApiKeyStore): Promise<CallLimiter> {
  const windows = new RateWindows();
  await app.register(rateLimit, {
    // Added below as one root hook rather than per route, so it also covers unmatched URLs.
    global: false,
    max: () => requestsPerMinute(),
    timeWindow: WINDOW_MS,
    store: sharedStore(windows),
    keyGenerator: (request) => rateLimitKey(request, keys()),
    // Health probes must not be starved by a busy client on the same address.
    allowList: (request) => requestsPerMinute() === 0 || isPreflight(request) || accessOf(request) === 'public',
    errorResponseBuilder: (_request, context) => rateLimited(context.max, context.ttl),
  });
  app.addHook('onRequest', app.rateLimit());
  return (origin) => {
    const max = requestsPerMinute();
    if (max === 0) return;
    const store = keys();
    const key = store.size > 0 ? identityOf(secretIn(origin.authorization, origin.apiKey), store).key : undefined;
    const { count, ttlMs } = windows.hit(bucketOf(key, origin.ip), WINDOW_MS);
    if (count > max) throw rateLimited(max, ttlMs);
  };
}
