/**
 * Configuration checks: is the effective config valid, which files and FORJA_* variables made it,
 * and would `forja serve` accept its security settings (key entries, network exposure).
 */
import { loadConfig, validateConfig } from '../config/load.js';
import type { ForjaConfig } from '../config/schema.js';
import { assertSafeBinding, isLoopbackHost, loadApiKeys } from '../security/index.js';
import { result, firstLine, type CheckResult } from './types.js';

const GROUP = 'config';

export interface ConfigProbe {
  results: CheckResult[];
  /** The config the other checks use: the real one, or defaults plus flags when it is invalid. */
  config: Readonly<ForjaConfig>;
  valid: boolean;
}

export function checkConfig(file: string | undefined, overrides: Record<string, Record<string, unknown>>, env: NodeJS.ProcessEnv = process.env): ConfigProbe {
  try {
    const loaded = loadConfig({ file, overrides, env });
    const sources = loaded.files.length > 0 ? loaded.files.join(' + ') : 'no file (defaults)';
    const envPart = loaded.envOverrides.length > 0 ? `; env overrides: ${loaded.envOverrides.join(', ')}` : '';
    return { results: [result(GROUP, 'configuration', 'pass', `valid; ${sources}${envPart}`), ...checkSecurity(loaded.config, env)], config: loaded.config, valid: true };
  } catch (err) {
    const message = err instanceof Error ? err.message.replace(/:\n\s*/, ': ').replace(/\n\s*/g, '; ') : String(err);
    const failed = result(GROUP, 'configuration', 'fail', message,
      'fix the keys named above (docs/configuration.md lists every key); `forja config check` prints the same report');
    // Go on with defaults and the flags so the remaining checks still say something useful.
    return { results: [failed], config: fallbackConfig(overrides), valid: false };
  }
}

function checkSecurity(config: Readonly<ForjaConfig>, env: NodeJS.ProcessEnv): CheckResult[] {
  const s = config.security;
  let keyCount: number;
  try {
    keyCount = loadApiKeys({ envName: s.api_keys_env, file: s.api_keys_file, env }).size;
  } catch (err) {
    return [result(GROUP, 'API keys', 'fail', firstLine(err), 'each entry is name:secret:scope[+scope] (docs/security.md)')];
  }
  const keys = keyCount > 0
    ? result(GROUP, 'API keys', 'pass', `${keyCount} key(s) configured; requests need a key`)
    : result(GROUP, 'API keys', isLoopbackHost(config.server.host) ? 'pass' : 'skip', `none; authentication is off`);
  try {
    assertSafeBinding(config.server.host, keyCount, s.allow_unauthenticated_remote);
    const exposed = !isLoopbackHost(config.server.host);
    return [keys, result(GROUP, 'network exposure', exposed && keyCount === 0 ? 'warn' : 'pass',
      exposed ? `${config.server.host} is reachable from the network${keyCount === 0 ? ' without keys (allowed explicitly)' : ''}` : `${config.server.host} (loopback only)`,
      exposed && keyCount === 0 ? 'anyone on the network can use this server; make sure a proxy in front authenticates' : undefined)];
  } catch {
    return [keys, result(GROUP, 'network exposure', 'fail', `${config.server.host} without API keys: forja serve refuses to start`,
      `set ${s.api_keys_env} (or security.api_keys_file), bind 127.0.0.1, or set security.allow_unauthenticated_remote: true (docs/security.md)`)];
  }
}

function fallbackConfig(overrides: Record<string, Record<string, unknown>>): Readonly<ForjaConfig> {
  try {
    return validateConfig(overrides);
  } catch {
    return validateConfig({});
  }
}
