/**
 * API keys: parsing the `name:secret:scope+scope` entries from the environment or a key file,
 * and looking a presented secret up in constant time.
 *
 * Keys never come from the config file itself (it is often committed); the config only names
 * the environment variable and the file that hold them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { errors } from '../errors.js';

export const SCOPES = ['infer', 'jobs', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Short secrets are guessable; 16 characters of a random string is the floor. */
export const MIN_SECRET_LENGTH = 16;

export interface ApiKey {
  name: string;
  scopes: ReadonlySet<Scope>;
}

interface StoredKey extends ApiKey {
  digest: Buffer;
}

const NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * Parses key entries separated by commas or newlines. Blank entries and lines starting with `#`
 * are skipped. The secret is everything between the first and the last colon, so a secret may
 * itself contain colons. `source` names where the text came from in error messages (never the text).
 */
export function parseApiKeys(text: string, source: string): ApiKey[] & { secrets: string[] } {
  const keys: ApiKey[] = [];
  const secrets: string[] = [];
  const entries = text.split(/[\n,]/).map((e) => e.trim()).filter((e) => e !== '' && !e.startsWith('#'));
  entries.forEach((entry, index) => {
    const where = `${source}, entry ${index + 1}`;
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    if (first <= 0 || last === first) throw errors.CONFIG_INVALID(`${where}: expected name:secret:scope[+scope…]`);
    const name = entry.slice(0, first);
    const secret = entry.slice(first + 1, last);
    const scopeText = entry.slice(last + 1);
    if (!NAME.test(name)) throw errors.CONFIG_INVALID(`${where}: key name may use letters, digits, '_', '.', '-'`);
    if (secret.length < MIN_SECRET_LENGTH) throw errors.CONFIG_INVALID(`${where} (${name}): secret must be at least ${MIN_SECRET_LENGTH} characters`);
    const scopes = new Set<Scope>();
    for (const scope of scopeText.split('+').map((s) => s.trim())) {
      if (!(SCOPES as readonly string[]).includes(scope)) throw errors.CONFIG_INVALID(`${where} (${name}): unknown scope '${scope}' (known: ${SCOPES.join(', ')})`);
      scopes.add(scope as Scope);
    }
    keys.push({ name, scopes });
    secrets.push(secret);
  });
  return Object.assign(keys, { secrets });
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** The configured keys; only SHA-256 digests of the secrets are kept in memory. */
export class ApiKeyStore {
  readonly #keys: StoredKey[];

  constructor(entries: Array<{ name: string; secret: string; scopes: Iterable<Scope> }>) {
    const names = new Set<string>();
    const digests = new Set<string>();
    this.#keys = entries.map((e) => {
      if (names.has(e.name)) throw errors.CONFIG_INVALID(`API key name '${e.name}' is defined twice`);
      const d = digest(e.secret);
      if (digests.has(d.toString('hex'))) throw errors.CONFIG_INVALID(`API key '${e.name}' reuses the secret of another key`);
      names.add(e.name);
      digests.add(d.toString('hex'));
      return { name: e.name, scopes: new Set(e.scopes), digest: d };
    });
  }

  get size(): number {
    return this.#keys.length;
  }

  names(): string[] {
    return this.#keys.map((k) => k.name);
  }

  /** The key named `name` (for dashboard sessions, which remember a key by name). */
  byName(name: string): ApiKey | undefined {
    const key = this.#keys.find((k) => k.name === name);
    return key && { name: key.name, scopes: key.scopes };
  }

  /**
   * A value that changes when the named key's secret changes, so a session made with the old
   * secret ends when the key is rotated under the same name. Derived from the digest, not the secret.
   */
  fingerprint(name: string): string | undefined {
    const key = this.#keys.find((k) => k.name === name);
    return key && createHash('sha256').update(key.digest).digest('hex');
  }

  /**
   * The key whose secret equals `secret`, or undefined. Secrets are compared as fixed-length
   * digests with timingSafeEqual and every key is visited, so the time taken says nothing about
   * how much of a secret matched or which key it was closest to.
   */
  find(secret: string): ApiKey | undefined {
    const presented = digest(secret);
    let found: StoredKey | undefined;
    for (const key of this.#keys) {
      if (timingSafeEqual(presented, key.digest) && found === undefined) found = key;
    }
    return found && { name: found.name, scopes: found.scopes };
  }
}

/** `admin` is the operator's key: it may do everything the other scopes allow. */
export function hasScope(key: ApiKey, scope: Scope): boolean {
  return key.scopes.has(scope) || key.scopes.has('admin');
}

export interface KeySources {
  /** Name of the environment variable holding keys. */
  envName: string;
  /** Optional key file. */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

/** Reads keys from the environment variable and the key file (both may be used; names must be unique). */
export function loadApiKeys(sources: KeySources): ApiKeyStore {
  const env = sources.env ?? process.env;
  const entries: Array<{ name: string; secret: string; scopes: Iterable<Scope> }> = [];
  const add = (text: string, source: string) => {
    const parsed = parseApiKeys(text, source);
    parsed.forEach((key, i) => entries.push({ name: key.name, secret: parsed.secrets[i], scopes: key.scopes }));
  };
  const fromEnv = env[sources.envName];
  if (fromEnv) add(fromEnv, `environment variable ${sources.envName}`);
  if (sources.file) {
    let text: string;
    try {
      // The path comes from the operator's own configuration, not from a request.
      text = readFileSync(sources.file, 'utf8');
    } catch (err) {
      throw errors.CONFIG_INVALID(`cannot read API key file ${sources.file}: ${(err as Error).message}`);
    }
    add(text, `API key file ${sources.file}`);
  }
  return new ApiKeyStore(entries);
}
