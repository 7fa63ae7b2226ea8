/** The SQLite queue through the shared conformance suite: each store is its own database file; and its schema upgrades. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteBackend } from '../../../src/pipelines/queues/sqlite/index.js';
import { tempDir } from '../helpers.js';
import { runBackendConformance } from './backend-conformance.js';

const dir = tempDir();
runBackendConformance({
  name: 'sqlite',
  create: (store) => new SqliteBackend({ file: path.join(dir, `${store}.db`) }),
});

describe('sqlite job store upgrade', () => {
  it('a store written before the per-state indexes opens upgraded, its jobs claimable and counted', async () => {
    const file = path.join(dir, 'before-state-indexes.db');
    const first = new SqliteBackend({ file });
    await first.init([{ name: 'old' }]);
    await first.enqueue({ id: randomUUID(), pipeline: 'old', input: { n: 1 } });
    await first.close();
    // Back to schema 3, as that version left the file.
    const db = new Database(file);
    db.exec(`DROP INDEX jobs_pipeline; DROP INDEX jobs_queued; DROP INDEX jobs_running; DROP INDEX jobs_failed; DROP INDEX jobs_cancelled;
             CREATE INDEX jobs_ready ON jobs(pipeline, state, priority, run_at); CREATE INDEX jobs_state ON jobs(state, lease_expires_at);`);
    db.pragma('user_version = 3');
    db.close();

    const upgraded = new SqliteBackend({ file });
    await upgraded.init([{ name: 'old' }]);
    const check = new Database(file, { readonly: true });
    const indexes = (check.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND name LIKE 'jobs_%'`).all() as { name: string }[]).map((r) => r.name).sort();
    check.close();
    assert.deepEqual(indexes, ['jobs_cancelled', 'jobs_failed', 'jobs_finished', 'jobs_idempotency', 'jobs_pipeline', 'jobs_queued', 'jobs_running']);
    assert.equal((await upgraded.counts()).queued, 1);
    const [job] = await upgraded.claim('w', new Map([['old', 5]]), 1000, 5);
    assert.deepEqual(job?.input, { n: 1 });
    assert.equal(await upgraded.complete(job, null), true);
    assert.equal((await upgraded.counts()).succeeded, 1);
    await upgraded.close();
  });
});
