/** What one doctor check reports. */

/** pass ✓; warn ! (worth knowing, Forja still runs); fail ✗ (a required check: `forja doctor` exits 1); skip - (not applicable). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** The group it belongs to: runtime, system, config, models, services. */
  group: string;
  /** What was checked, e.g. "Node.js" or "model add v1". */
  name: string;
  status: CheckStatus;
  /** What was found, in a few words. */
  detail: string;
  /** What to do about a warning or failure. */
  hint?: string;
}

export function result(group: string, name: string, status: CheckStatus, detail: string, hint?: string): CheckResult {
  return hint === undefined ? { group, name, status, detail } : { group, name, status, detail, hint };
}

/** The first line of an error's message: native errors can be long. */
export function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0].trim();
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/**
 * Resolves with the promise's value, or rejects after `ms` so one stuck check (a GPU driver, an
 * unreachable Redis) cannot hold the whole report past its deadline.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
