/**
 * Finds the API key a request presents (`Authorization: Bearer <secret>` or `x-api-key: <secret>`)
 * and remembers the answer for the request, so the rate limiter and the auth hook look it up once.
 */
import type { FastifyRequest } from 'fastify';
import type { ApiKey, ApiKeyStore } from './api-keys.js';

export interface Identity {
  /** Whether the request carried a credential at all. */
  presented: boolean;
  /** The key it matched, when it matched one. */
  key?: ApiKey;
  /** Why a presented credential could not be read (e.g. a Basic scheme). */
  problem?: string;
}

const identities = new WeakMap<FastifyRequest, Identity>();

/** The secret in the request headers; Authorization wins over x-api-key when both are sent. */
export function presentedSecret(request: FastifyRequest): { secret?: string; problem?: string } {
  const header = request.headers['x-api-key'];
  return secretIn(request.headers.authorization, Array.isArray(header) ? header[0] : header);
}

/** The same rule for any transport that carries these two headers (gRPC metadata too). */
export function secretIn(authorization: string | undefined, apiKey: string | undefined): { secret?: string; problem?: string } {
  if (authorization !== undefined) {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    return match ? { secret: match[1] } : { problem: 'the Authorization header must be "Bearer <key>"' };
  }
  if (apiKey !== undefined && apiKey.trim() !== '') return { secret: apiKey.trim() };
  return {};
}

/** Looks the presented secret up in the key store. */
export function identityOf(presented: { secret?: string; problem?: string }, keys: ApiKeyStore): Identity {
  const { secret, problem } = presented;
  // Compares with undefined (was a credential sent?), never with a secret's content.
  // eslint-disable-next-line security/detect-possible-timing-attacks
  if (secret !== undefined) return { presented: true, key: keys.find(secret) };
  return problem ? { presented: true, problem } : { presented: false };
}

export function identify(request: FastifyRequest, keys: ApiKeyStore): Identity {
  let identity = identities.get(request);
  if (identity) return identity;
  identity = identityOf(presentedSecret(request), keys);
  identities.set(request, identity);
  return identity;
}

/** Records an identity found another way (a dashboard session), so principalOf() sees it. */
export function setIdentity(request: FastifyRequest, identity: Identity): void {
  identities.set(request, identity);
}

/** The key an authenticated request used, for handlers and logs (undefined when auth is off). */
export function principalOf(request: FastifyRequest): ApiKey | undefined {
  return identities.get(request)?.key;
}
