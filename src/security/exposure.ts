/**
 * The start-up guard: without API keys Forja only binds loopback addresses, unless the operator
 * says on purpose that an open server on the network is what they want.
 */
import { isIP } from 'node:net';
import { errors } from '../errors.js';

/** True for addresses only this machine can reach: localhost, 127.0.0.0/8, ::1 (and its IPv4-mapped form). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === 'ip6-localhost') return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

export function assertSafeBinding(host: string, keyCount: number, allowUnauthenticatedRemote: boolean): void {
  if (keyCount > 0 || allowUnauthenticatedRemote || isLoopbackHost(host)) return;
  throw errors.CONFIG_INVALID(
    `refusing to listen on ${host} without API keys: anyone who can reach this address could run models and jobs. ` +
    'Set API keys (security.api_keys_env, default FORJA_API_KEYS, or security.api_keys_file), ' +
    'bind a loopback address (server.host: 127.0.0.1), or set security.allow_unauthenticated_remote: true ' +
    'when another layer (a proxy, a private network) already authenticates.');
}
