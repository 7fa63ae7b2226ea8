/**
 * Follows config reloads with the security layer: on every reload that is not rejected (SIGHUP, a
 * config file change, even one that changed nothing) the API keys are read again from their
 * environment variable and key file, and the CORS origins and rate limit switch to the reloaded
 * values. The key file's content is not part of the config, so "unchanged" reloads count too:
 * rotating keys is "edit the key file, send SIGHUP".
 *
 * A new key set that is invalid, or empty on a non-loopback address without
 * security.allow_unauthenticated_remote, is refused and logged: the running keys stay.
 */
import type { ConfigReloader, ReloadOutcome } from './config-reloader.js';
import type { ForjaServer } from './app.js';

/** Security keys a running server can take; the rate limit only when limiting was on at start. */
export function reloadableSecurityKeys(rateLimitReloadable: boolean): string[] {
  const keys = ['security.api_keys_env', 'security.api_keys_file', 'security.allow_unauthenticated_remote', 'security.cors_origins'];
  return rateLimitReloadable ? [...keys, 'security.rate_limit.*'] : keys;
}

export function followSecurityReloads(reloader: ConfigReloader, server: Pick<ForjaServer, 'security' | 'logger'>): void {
  // Claiming the keys is what makes the reloader apply them instead of reporting a restart; the
  // work itself happens once per reload below, after the running config has been settled.
  for (const pattern of reloadableSecurityKeys(server.security.rateLimitReloadable)) reloader.register(pattern, () => undefined);
  reloader.on('reload', (outcome: ReloadOutcome) => {
    if (outcome.result === 'rejected') return;
    const s = reloader.config.security;
    try {
      const { keys } = server.security.apply(s);
      server.logger.info({ trigger: outcome.trigger, apiKeys: keys, corsOrigins: s.cors_origins, requestsPerMinute: s.rate_limit.requests_per_minute }, 'security settings reloaded');
    } catch (err) {
      server.logger.error({ trigger: outcome.trigger, reason: (err as Error).message }, 'security reload refused; the running API keys, CORS origins and rate limit stay');
    }
  });
}
