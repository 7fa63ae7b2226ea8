/**
 * The dashboard, a Fastify plugin:
 *   GET /                      the page (a static shell; everything else is drawn by the bundle)
 *   GET /dashboard/app.js|css  the browser bundle built at build time into dist/dashboard/
 *   GET /dashboard/snapshot    one snapshot as JSON
 *   GET /dashboard/events      Server-Sent Events: a `snapshot` event every second and on change
 * Every reply carries a strict CSP (no inline script or style, same-origin only, no framing).
 * Actions (retry, cancel) go through the jobs API, so the dashboard adds no write endpoint besides
 * the login and logout of login.ts, which `GET /` hands over to while API keys are on and the
 * browser has no session.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ModelManager } from '../inference/model-manager.js';
import type { Registry } from 'prom-client';
import type { PipelineService } from '../pipelines/service.js';
import { errors } from '../errors.js';
import { sendError } from '../http/errors.js';
import { openSse, type SseStream } from '../http/sse.js';
import { authenticatedBySession, loginRequired } from '../security/index.js';
import { LiveFeed } from './live-feed.js';
import { loginRoutes, sendLoginPage, type DashboardSecurity } from './login.js';
import { SnapshotBuilder } from './snapshot.js';

export interface DashboardRoutesOptions {
  manager: ModelManager;
  registry: Registry;
  pipelines: () => PipelineService | undefined;
  serverVersion: string;
  /** Where app.js and app.css are (default: dist/dashboard, next to the compiled server). */
  assetsDir?: string;
  intervalMs?: number;
  /** The keys and sessions of the security layer; with it, the dashboard has a login page. */
  security?: DashboardSecurity;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** dist/src/dashboard/routes.js → dist/dashboard/ */
export const DEFAULT_ASSETS_DIR = path.resolve(HERE, '../../dashboard');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': [
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
    "font-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
});

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Forja dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/app.css">
<script type="module" src="/dashboard/app.js"></script>
</head>
<body data-auth="AUTH">
<div id="app"><p class="loading">Loading the dashboard…</p></div>
<noscript>The dashboard needs JavaScript; the same figures are at /metrics and /api/jobs.</noscript>
</body>
</html>
`;

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

function secure(reply: FastifyReply): FastifyReply {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
  return reply;
}

export async function dashboardRoutes(app: FastifyInstance, options: DashboardRoutesOptions): Promise<void> {
  const assetsDir = options.assetsDir ?? DEFAULT_ASSETS_DIR;
  const builder = new SnapshotBuilder({ manager: options.manager, registry: options.registry, pipelines: options.pipelines, serverVersion: options.serverVersion });
  const feed = new LiveFeed({
    builder, manager: options.manager, pipelines: options.pipelines, intervalMs: options.intervalMs,
    onError: (err) => app.log.warn({ err }, 'dashboard snapshot failed'),
  });
  const streams = new Set<SseStream>();
  const cache = new Map<string, Buffer>();

  // data-auth tells the bundle whether to offer "Log out" (the cookie is HttpOnly, so it cannot look).
  const pages = { header: PAGE.replace('AUTH', 'header'), session: PAGE.replace('AUTH', 'session') };
  // Operators only; the login cookie counts here (a browser cannot send a key with a page load).
  const operatorsOnly = { config: { access: 'admin', sessionCookie: true } } as const;
  app.get('/', operatorsOnly, async (request, reply) => {
    if (loginRequired(request)) return sendLoginPage(reply, SECURITY_HEADERS);
    const page = authenticatedBySession(request) ? pages.session : pages.header;
    return secure(reply).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(page);
  });
  if (options.security) await loginRoutes(app, options.security, SECURITY_HEADERS);

  // A fixed list of names: the URL never becomes a path.
  app.get<{ Params: { asset: string } }>('/dashboard/:asset', operatorsOnly, async (request, reply) => {
    const type = Object.hasOwn(ASSETS, request.params.asset) ? ASSETS[request.params.asset] : undefined;
    if (!type) return sendError(request, secure(reply), errors.ROUTE_NOT_FOUND(`no dashboard asset ${request.params.asset}`));
    let body = cache.get(request.params.asset);
    if (!body) {
      try {
        body = await readFile(path.join(assetsDir, request.params.asset));
      } catch {
        return sendError(request, secure(reply), errors.SERVER_NOT_READY('the dashboard bundle is not built: run `npm run build`'));
      }
      cache.set(request.params.asset, body);
    }
    return secure(reply).header('cache-control', 'no-cache').type(type).send(body);
  });

  app.get('/dashboard/snapshot', operatorsOnly, async (_request, reply) => {
    const snapshot = feed.latest && Date.now() - feed.latest.at < 500 ? feed.latest : await feed.sample();
    return secure(reply).header('cache-control', 'no-store').send(snapshot);
  });

  app.get('/dashboard/events', operatorsOnly, (request, reply) => {
    // The page reconnects after 2 s: to this server once it is back, or to another replica.
    const stream = openSse(request, reply, { headers: SECURITY_HEADERS, cacheControl: 'no-store', retryMs: 2000, endOnDrain: true });
    const stopWatching = feed.watch((snapshot) => stream.send({ event: 'snapshot', data: snapshot }));
    streams.add(stream);
    stream.onClose(() => {
      stopWatching();
      streams.delete(stream);
    });
  });

  // The server's drain ends the streams first; this covers the plugin closed on its own.
  app.addHook('preClose', async () => {
    for (const stream of [...streams]) stream.end();
    feed.close();
  });
}
