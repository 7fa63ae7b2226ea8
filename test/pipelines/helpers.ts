/** Shared test helpers for pipelines: temp dirs, waiting on a condition, quiet loggers. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';

export function tempDir(prefix = 'forja-pipelines-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Polls `check` on a short timer until it is true (for conditions with no event to await). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const silentLogger = pino({ level: 'silent' });
