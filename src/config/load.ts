/**
 * Builds the effective configuration in layers, later ones winning:
 * defaults < forja.yaml (or --config FILE) < forja.<FORJA_ENV>.yaml < FORJA_<SECTION>__<KEY> env vars < CLI flags.
 * The result is validated once by zod (all issues reported, each naming its key) and frozen.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, type ForjaConfig } from './schema.js';
import { errors } from '../errors.js';
import { describeIssues } from './issues.js';

type Plain = Record<string, unknown>;

export interface LoadConfigOptions {
  /** Explicit config file; without it ./forja.yaml is used when present. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from CLI flags, already nested ({ server: { port: 0 } }). */
  overrides?: Plain;
  cwd?: string;
}

export interface LoadedConfig {
  config: Readonly<ForjaConfig>;
  /** Files that contributed, in order. */
  files: string[];
  /** Environment variables that overrode a key. */
  envOverrides: string[];
}

const ENV_PREFIX = 'FORJA_';

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const files: string[] = [];
  let merged: Plain = {};

  const base = options.file ? path.resolve(cwd, options.file) : path.resolve(cwd, 'forja.yaml');
  if (options.file && !existsSync(base)) throw errors.CONFIG_INVALID(`config file not found: ${base}`);
  if (existsSync(base)) {
    merged = deepMerge(merged, readYamlFile(base));
    files.push(base);
    const envName = env.FORJA_ENV;
    if (envName) {
      const overlay = overlayPath(base, envName);
      if (existsSync(overlay)) {
        merged = deepMerge(merged, readYamlFile(overlay));
        files.push(overlay);
      }
    }
  }

  const { values: envValues, names: envOverrides, keys: envKeys } = readEnvOverrides(env);
  merged = deepMerge(merged, envValues);
  if (options.overrides) merged = deepMerge(merged, options.overrides);

  // A bad value set by an environment variable is blamed on the variable, not on the file.
  const sources = [...files, ...envOverrides].join(', ') || 'defaults';
  const origin = (key: string) => {
    const name = [...envKeys].find(([path]) => key === path || key.startsWith(`${path}.`))?.[1];
    return name ? `environment variable ${name}` : undefined;
  };
  return { config: validateConfig(merged, `configuration (${sources})`, origin), files, envOverrides };
}

/** Validates a plain object; throws CONFIG_INVALID listing every bad key and why. */
export function validateConfig(value: unknown, source = 'configuration', origin?: (key: string) => string | undefined): Readonly<ForjaConfig> {
  const result = configSchema.safeParse(value);
  if (!result.success) {
    const lines = describeIssues(result.error, configSchema, origin);
    throw errors.CONFIG_INVALID(`invalid ${source}:\n  ${lines.join('\n  ')}`);
  }
  return deepFreeze(result.data);
}

function overlayPath(base: string, envName: string): string {
  const ext = path.extname(base);
  return base.slice(0, base.length - ext.length) + `.${envName}${ext}`;
}

function readYamlFile(file: string): Plain {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw errors.CONFIG_INVALID(`cannot parse ${file}: ${(err as Error).message}`);
  }
  if (parsed == null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw errors.CONFIG_INVALID(`${file}: the top level must be a mapping of sections`);
  return parsed as Plain;
}

/** FORJA_SERVER__PORT=9000 → { server: { port: 9000 } }; values are read as YAML scalars. */
function readEnvOverrides(env: NodeJS.ProcessEnv): { values: Plain; names: string[]; keys: Map<string, string> } {
  const values: Plain = {};
  const names: string[] = [];
  const keys = new Map<string, string>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || !name.includes('__') || raw === undefined) continue;
    const keyPath = name.slice(ENV_PREFIX.length).split('__').map((part) => part.toLowerCase());
    if (keyPath.some((part) => part === '')) continue;
    let value: unknown;
    try {
      value = parseYaml(raw);
    } catch {
      value = raw;
    }
    let node = values;
    for (const part of keyPath.slice(0, -1)) node = (node[part] ??= {}) as Plain;
    node[keyPath[keyPath.length - 1]] = value;
    names.push(name);
    keys.set(keyPath.join('.'), name);
  }
  return { values, names, keys };
}

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepMerge(target: Plain, source: Plain): Plain {
  const out: Plain = { ...target };
  for (const [key, value] of Object.entries(source)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    out[key] = isPlain(value) && isPlain(out[key]) ? deepMerge(out[key] as Plain, value) : value;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
