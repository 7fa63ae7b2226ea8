/**
 * API keys over gRPC: the same `authorization: Bearer <key>` / `x-api-key: <key>` credentials as
 * HTTP, read from the call's metadata, checked against the keys in force with the same scope rules
 * and messages (security/). Each method declares its access in server.ts; probes are public.
 */
import type { Metadata } from '@grpc/grpc-js';
import { identityOf, requireScope, secretIn, type Access, type ApiKeyStore } from '../../security/index.js';

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
