/**
 * API keys and the rate limit over gRPC: the same `authorization: Bearer <key>` / `x-api-key: <key>`
 * credentials as HTTP, read from the call's metadata, checked against the keys in force with the same
 * scope rules and messages (security/), and counted in the same rate-limit buckets. Each method
 * declares its access in server.ts; probes are public (neither checked nor counted).
 */
import type { Metadata } from '@grpc/grpc-js';
import { identityOf, requireScope, secretIn, type Access, type ApiKeyStore, type CallLimiter } from '../../security/index.js';

function first(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return value === undefined ? undefined : String(value);
}

/** Throws AUTH_UNAUTHORIZED / AUTH_FORBIDDEN exactly as the HTTP hook would for the same credential. */
export function authorize(metadata: Metadata, access: Access, keys: ApiKeyStore): void {
  if (keys.size === 0 || access === 'public') return;
  if (access !== 'infer' && access !== 'jobs' && access !== 'admin') throw new Error(`gRPC methods do not take '${access}' access`);
  requireScope(identityOf(secretIn(first(metadata, 'authorization'), first(metadata, 'x-api-key')), keys), access);
}

/**
 * Counts the call in the HTTP rate limit's bucket for its key (or, without a valid key, its client
 * address), before the key is checked, as HTTP does; throws RATE_LIMITED over the limit.
 * `peer` is grpc-js's `address:port` of the client.
 */
export function limitCall(metadata: Metadata, peer: string, access: Access, limit: CallLimiter): void {
  if (access === 'public') return;
  limit({ authorization: first(metadata, 'authorization'), apiKey: first(metadata, 'x-api-key'), ip: peer.replace(/:\d+$/, '') });
}
