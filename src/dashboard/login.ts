/**
 * The dashboard's login, for servers with API keys: a browser cannot attach a key to a page load
 * or an EventSource, so the operator pastes an admin key into a plain form once and gets a session
 * cookie (see security/sessions.ts for what the cookie is and where it counts).
 *   GET  /                      the login page instead of the dashboard while there is no credential
 *   POST /dashboard/login       form (`key=…`) or JSON (`{"key": "…"}`); sets the cookie
 *   POST /dashboard/logout      ends the session and clears the cookie
 *   GET  /dashboard/login.css   the page's stylesheet (public: it holds nothing)
 * The page has no script at all, so the CSP stays free of inline code; only form-action widens to 'self'.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors, type ForjaError } from '../errors.js';
import { sendError } from '../http/errors.js';
import {
  CLEAR_SESSION_COOKIE, hasScope, isSameOrigin, sessionCookie, sessionIdOf,
  type ApiKeyStore, type SessionStore,
} from '../security/index.js';

export interface DashboardSecurity {
  /** The API keys in force now (a reload may replace them). */
  readonly keys: ApiKeyStore;
  readonly sessions: SessionStore;
}

const LOGIN_CSP = [
  "default-src 'none'", "style-src 'self'", "img-src 'self' data:", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const CSS = `body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
.login{max-width:26rem;margin:12vh auto;padding:1.5rem 1.75rem;background:#fff;border:1px solid #d9dce3;border-radius:8px}
h1{margin:0 0 .5rem;font-size:1.4rem}label{display:block;font-weight:600;margin:1rem 0 .3rem}
input{box-sizing:border-box;width:100%;padding:.5rem;font:inherit;border:1px solid #b9bfcc;border-radius:4px}
button{margin-top:.9rem;padding:.5rem 1.1rem;font:inherit;border:0;border-radius:4px;background:#2f6fde;color:#fff;cursor:pointer}
.error{color:#a61b1b;background:#fdecec;padding:.5rem .7rem;border-radius:4px}.note{color:#5d6678;font-size:.85rem}
`;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);

export function loginPage(error?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Forja dashboard: log in</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/login.css">
</head>
<body>
<main class="login">
<h1>Forja</h1>
<p>This server requires API keys. Paste a key with the <code>admin</code> scope to open the dashboard.</p>
${error === undefined ? '' : `<p class="error" id="login-error" role="alert">${escapeHtml(error)}</p>\n`}<form method="post" action="/dashboard/login" id="login-form">
<label for="key">Admin API key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
</form>
<p class="note">The browser keeps a session cookie, not the key. Sessions last 12 hours and end when the key is removed or changed.</p>
</main>
</body>
</html>
`;
}

export function sendLoginPage(reply: FastifyReply, headers: Readonly<Record<string, string>>, status = 200, error?: string): FastifyReply {
  for (const [name, value] of Object.entries(headers)) reply.header(name, value);
  // same-origin (not no-referrer): otherwise the browser posts the form with `Origin: null`,
  // which the CSRF check must refuse. Other sites still learn nothing.
  return reply.code(status).header('content-security-policy', LOGIN_CSP).header('referrer-policy', 'same-origin').header('cache-control', 'no-store')
    .type('text/html; charset=utf-8').send(loginPage(error));
}

const wantsJson = (request: FastifyRequest) => (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/json');

export async function loginRoutes(app: FastifyInstance, security: DashboardSecurity, headers: Readonly<Record<string, string>>): Promise<void> {
  // Only this plugin's routes parse forms; the size limit covers a key with room to spare.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const refuse = (request: FastifyRequest, reply: FastifyReply, error: ForjaError) =>
    wantsJson(request) ? sendError(request, reply.header('cache-control', 'no-store'), error) : sendLoginPage(reply, headers, error.statusCode, error.message);

  // The form must be reachable without a session; its stylesheet holds nothing secret.
  app.get('/dashboard/login.css', { config: { access: 'public' } }, async (_request, reply) => {
    for (const [name, value] of Object.entries(headers)) reply.header(name, value);
    return reply.header('cache-control', 'no-cache').type('text/css; charset=utf-8').send(CSS);
  });

  app.post<{ Body: { key?: unknown } | undefined }>('/dashboard/login', { bodyLimit: 4096, config: { access: 'login' } }, async (request, reply) => {
    // A page on another site could post this form (login CSRF); browsers name the page's origin.
    if (!isSameOrigin(request)) return refuse(request, reply, errors.AUTH_FORBIDDEN('Login refused: the form was sent from another site.'));
    const keys = security.keys;
    if (keys.size === 0) return wantsJson(request) ? reply.send({ ok: true, session: false }) : reply.code(303).header('location', '/').send();
    const secret = typeof request.body?.key === 'string' ? request.body.key.trim() : '';
    // Checks emptiness, not content: the comparison with keys is ApiKeyStore.find's (constant time).
    // eslint-disable-next-line security/detect-possible-timing-attacks
    if (secret === '') return refuse(request, reply, errors.REQUEST_INVALID('Paste an API key.'));
    const key = keys.find(secret);
    if (!key) return refuse(request, reply, errors.AUTH_UNAUTHORIZED('That API key is not valid.'));
    if (!hasScope(key, 'admin')) return refuse(request, reply, errors.AUTH_FORBIDDEN(`API key '${key.name}' does not have the admin scope the dashboard needs.`));
    const id = security.sessions.create(key, keys);
    request.log.info({ apiKey: key.name }, 'dashboard login');
    reply.header('set-cookie', sessionCookie(id)).header('cache-control', 'no-store');
    return wantsJson(request) ? reply.send({ ok: true, key: key.name }) : reply.code(303).header('location', '/').send();
  });

  app.post('/dashboard/logout', { config: { access: 'login' } }, async (request, reply) => {
    if (!isSameOrigin(request)) return sendError(request, reply, errors.AUTH_FORBIDDEN('cross-origin logout refused'));
    security.sessions.delete(sessionIdOf(request));
    reply.header('set-cookie', CLEAR_SESSION_COOKIE).header('cache-control', 'no-store');
    return wantsJson(request) || request.headers['content-type'] === undefined ? reply.code(204).send() : reply.code(303).header('location', '/').send();
  });
}
