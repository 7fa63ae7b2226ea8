/**
 * What a failed SQLite call means for the caller. No room on the disk of the data directory is
 * STORAGE_FULL; a file locked by another process past the busy timeout, a read-only file or a failing
 * disk is QUEUE_UNAVAILABLE. Both are 503 with Retry-After, pass with time, and wrote nothing. Any
 * other error (a constraint, a bug) stays as it is.
 */
import { ForjaError } from '../../../errors.js';
import { queueUnavailable, storageFull } from '../storage-failure.js';

export function toStorageError(err: unknown, file: string): unknown {
  if (err instanceof ForjaError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') {
    return storageFull(`the disk of the job store (${file}) is full; free space there and retry`, err);
  }
  if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|READONLY|IOERR|CANTOPEN)/.test(code)) {
    return queueUnavailable(`the job store (${file}) cannot be written now (${code}: ${err.message}); retry later`, err);
  }
  return err;
}
