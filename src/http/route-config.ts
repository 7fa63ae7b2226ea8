/**
 * What every route declares about itself, in its Fastify `config`, so the rules that depend on the
 * route travel with it instead of living in tables kept in step by hand:
 *
 *   app.get('/v2/health/ready', { config: { access: 'public', docs: { summary: '…', tag: 'v2' } } }, handler)
 *
 * - `access` (required): who may call it; the auth hook and the rate limiter read it. A route
 *   without one makes the server refuse to start (security/route-access.ts).
 * - `sessionCookie`: the dashboard's login cookie stands in for an API key here (the dashboard's
 *   own routes and the job buttons it calls), never anywhere else.
 * - `docs`: the route is part of the public API; /openapi.json describes it from these schemas,
 *   and it answers programs, not browsers, so it skips the browser security headers.
 */
import type { z } from 'zod';

/**
 * `infer`, `jobs`, `admin`: an API key with that scope. `public`: no key (probes, the API
 * description). `webhook`: the pipeline's HMAC signature instead of a key (checked by the jobs
 * routes). `login`: the dashboard's login and logout, which check the key themselves and, unlike
 * `public`, stay rate limited so guessing keys there is throttled.
 */
export type Access = 'public' | 'infer' | 'jobs' | 'admin' | 'webhook' | 'login';

export const ACCESS_LEVELS: readonly Access[] = ['public', 'infer', 'jobs', 'admin', 'webhook', 'login'];

export interface RouteDocs {
  summary: string;
  tag: string;
  /** The JSON body the handler validates with. */
  body?: z.ZodType;
  /** The JSON body of a 200 answer. */
  response?: z.ZodType;
}

export interface RouteConfig {
  access: Access;
  sessionCookie?: boolean;
  docs?: RouteDocs;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    sessionCookie?: boolean;
    docs?: RouteDocs;
  }
}
