/**
 * What a config reload changes, worked out without touching the server: which keys differ between
 * the running config and the new one, and which of those can be applied live.
 *
 * A key is reloadable when something in the running process can take its new value without a
 * restart and without failing a request in flight (see server/config-reloader.ts for who applies
 * each). Everything else (ports, directories, the queue backend, ONNX threads…) is fixed at start:
 * a change to it is reported as needing a restart and the running value stays in force.
 */
import type { ForjaConfig } from './schema.js';

/** Keys applied live by the server itself. `section.*` covers every key of a section. */
export const RELOADABLE_KEYS: readonly string[] = [
  'log.level',
  'models.max_batch_size',
  'models.max_queue_delay_ms',
  'models.max_queue_size',
  'models.timeout_ms',
  'models.keep_alive',
  // Read by `forja bench load`, never by the server: nothing to restart for.
  'slo.*',
];

type Plain = Record<string, unknown>;

const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** { a: { b: 1, c: [1] } } → { 'a.b': 1, 'a.c': [1] }: objects are walked, arrays and scalars are leaves. */
export function flattenConfig(value: unknown, prefix = '', out: Plain = {}): Plain {
  if (!isPlain(value)) {
    out[prefix] = value;
    return out;
  }
  for (const [key, child] of Object.entries(value)) flattenConfig(child, prefix ? `${prefix}.${key}` : key, out);
  return out;
}

/** Dotted keys whose value differs (added, removed or changed), sorted. */
export function diffConfigs(previous: unknown, next: unknown): string[] {
  const a = flattenConfig(previous);
  const b = flattenConfig(next);
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key])).sort();
}

export function matchesKey(pattern: string, key: string): boolean {
  return pattern.endsWith('.*') ? key.startsWith(pattern.slice(0, -1)) : key === pattern;
}

export interface ClassifiedChanges {
  reloadable: string[];
  restartRequired: string[];
}

export function classifyChanges(changed: string[], reloadable: readonly string[] = RELOADABLE_KEYS): ClassifiedChanges {
  const out: ClassifiedChanges = { reloadable: [], restartRequired: [] };
  for (const key of changed) (reloadable.some((p) => matchesKey(p, key)) ? out.reloadable : out.restartRequired).push(key);
  return out;
}

/**
 * The config the process actually runs after a reload: the new values of the keys applied live,
 * the old values of the keys that need a restart. Later reloads diff against this, so a pending
 * restart-only change keeps being reported until the process restarts.
 */
export function runningConfig(previous: Readonly<ForjaConfig>, next: Readonly<ForjaConfig>, restartRequired: string[]): Readonly<ForjaConfig> {
  const out = structuredClone(next) as unknown as Plain;
  const old = flattenConfig(previous);
  for (const key of restartRequired) {
    const parts = key.split('.');
    let node: Plain = out;
    for (const part of parts.slice(0, -1)) {
      if (!isPlain(node[part])) node[part] = {};
      node = node[part] as Plain;
    }
    const last = parts[parts.length - 1];
    if (key in old) node[last] = structuredClone(old[key]);
    else delete node[last];
  }
  return deepFreeze(out) as unknown as Readonly<ForjaConfig>;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
