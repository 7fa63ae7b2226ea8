/**
 * Which credential each route needs. The decision is made on the matched route pattern
 * (`/v2/models/:model/infer`), not on the raw URL, so encodings, double slashes or query strings
 * cannot move a request into a more lenient rule: the scope follows the handler that will run.
 * Anything not listed (including unmatched URLs and routes other modules add later) needs
 * `admin`: deny by default.
 */
import type { Scope } from './api-keys.js';

/**
 * `public`: no key; `webhook`: authenticated by the pipeline's HMAC signature instead of a key;
 * `login`: the dashboard's login and logout, which check the key themselves (and, unlike `public`,
 * stay rate limited, so guessing keys there is throttled).
 */
export type Access = Scope | 'public' | 'webhook' | 'login';

interface Rule {
  /** A route pattern, or a prefix when it ends in `/`. */
  pattern: string;
  access: Access;
}

/** First match wins; see docs/security.md for the reasoning behind each line. */
const RULES: Rule[] = [
  // Probes from load balancers and orchestrators carry no credentials.
  { pattern: '/v2/health/live', access: 'public' },
  { pattern: '/v2/health/ready', access: 'public' },
  { pattern: '/health', access: 'public' },
  { pattern: '/healthz', access: 'public' },
  { pattern: '/readyz', access: 'public' },
  { pattern: '/api/jobs/ready', access: 'public' },
  // The API description holds no data; clients and generators fetch it without a key.
  { pattern: '/openapi.json', access: 'public' },
  { pattern: '/docs', access: 'public' },
  { pattern: '/docs/', access: 'public' },
  // The login form must be reachable without a session; its stylesheet holds nothing secret.
  { pattern: '/dashboard/login', access: 'login' },
  { pattern: '/dashboard/logout', access: 'login' },
  { pattern: '/dashboard/login.css', access: 'public' },
  // Webhook senders sign the body with the pipeline's secret (checked by the jobs routes).
  { pattern: '/hooks/', access: 'webhook' },
  // Loading and unloading models changes what the server holds in memory: operators only.
  { pattern: '/v2/repository/', access: 'admin' },
  { pattern: '/v2/models/', access: 'infer' },
  { pattern: '/v2', access: 'infer' },
  { pattern: '/v1/', access: 'infer' },
  { pattern: '/api/jobs', access: 'jobs' },
  { pattern: '/api/jobs/', access: 'jobs' },
  { pattern: '/api/pipelines', access: 'jobs' },
  // Metrics name models and pipelines and show load; Prometheus sends an admin key (docs/security.md).
  { pattern: '/metrics', access: 'admin' },
];

/** The access rule for a matched route pattern; undefined (no route matched) needs admin. */
export function accessFor(routePattern: string | undefined): Access {
  if (routePattern === undefined) return 'admin';
  for (const rule of RULES) {
    if (rule.pattern.endsWith('/') ? routePattern.startsWith(rule.pattern) : routePattern === rule.pattern) return rule.access;
  }
  return 'admin';
}
