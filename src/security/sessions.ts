/**
 * Dashboard sessions: a browser cannot attach an API key to a page load or an EventSource, so an
 * operator logs in once with an admin key and gets a cookie holding an opaque random session id.
 *
 * - The id is 32 random bytes; the server keeps only its SHA-256, mapped to the key's name and a
 *   fingerprint of the key's secret, with an absolute expiry. The key itself never goes in a cookie.
 * - A session is checked against the key store in force at each request: removing or rotating the
 *   key (a config reload) ends its sessions, and the scopes are the key's current ones.
 * - The cookie is accepted only on routes that say so (`config.sessionCookie`: the dashboard, the
 *   two job actions its buttons call and the two reads of its job view), never on the inference or jobs APIs at large.
 * Sessions live in this process: a restart logs everyone out.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { hasScope, type ApiKey, type ApiKeyStore } from './api-keys.js';

export const SESSION_COOKIE = 'forja_session';
/** How long a login lasts (absolute, not sliding): an operator's working day. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** A bound on memory: logging in past this many live sessions drops the oldest. */
const MAX_SESSIONS = 1000;
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

interface Session {
  keyName: string;
  fingerprint: string;
  expiresAt: number;
}

const hashId = (id: string) => createHash('sha256').update(id, 'utf8').digest('hex');

export class SessionStore {
  // Keyed by the id's digest, so the map never holds a usable cookie value.
  readonly #sessions = new Map<string, Session>();

  constructor(private readonly ttlMs = SESSION_TTL_MS, private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.#sessions.size;
  }

  /** Starts a session for a key (already checked by the caller) and returns the cookie value. */
  create(key: ApiKey, keys: ApiKeyStore): string {
    this.prune();
    while (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    this.#sessions.set(hashId(id), { keyName: key.name, fingerprint: keys.fingerprint(key.name) ?? '', expiresAt: this.now() + this.ttlMs });
    return id;
  }

  /** The admin key behind a cookie value, or undefined when it is unknown, expired, or its key changed. */
  resolve(id: string | undefined, keys: ApiKeyStore): ApiKey | undefined {
    if (id === undefined || !ID_PATTERN.test(id)) return undefined;
    const digest = hashId(id);
    const session = this.#sessions.get(digest);
    if (!session) return undefined;
    const key = keys.byName(session.keyName);
    if (session.expiresAt <= this.now() || !key || keys.fingerprint(key.name) !== session.fingerprint || !hasScope(key, 'admin')) {
      this.#sessions.delete(digest);
      return undefined;
    }
    return key;
  }

  delete(id: string | undefined): void {
    if (id !== undefined && ID_PATTERN.test(id)) this.#sessions.delete(hashId(id));
  }

  private prune(): void {
    const now = this.now();
    for (const [digest, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(digest);
  }
}

/** The session cookie's value from the Cookie header (the only cookie Forja reads). */
export function sessionIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Set-Cookie for a new session. No `Secure`: Forja serves plain HTTP (on loopback, or behind a TLS
 * proxy that may add it); `SameSite=Strict` keeps other sites from making the browser send it.
 */
export function sessionCookie(id: string, ttlMs = SESSION_TTL_MS): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(ttlMs / 1000)}`;
}

export const CLEAR_SESSION_COOKIE = `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;

/**
 * CSRF guard for state-changing requests a browser makes with the cookie: when the browser says
 * where the request comes from (Origin), that must be this server. The host is compared, not the
 * scheme, so a TLS proxy in front (https outside, http here) still matches. `Origin: null` (sent by
 * sandboxed frames, and by form posts from pages with Referrer-Policy: no-referrer) is refused, so
 * the login page relaxes its own referrer policy to same-origin.
 */
export function isSameOrigin(request: FastifyRequest): boolean {
  // Browsers also say it outright; 'none' is a request the user typed or bookmarked.
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (origin === 'null') return false;
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === request.headers.host;
  } catch {
    return false;
  }
}
