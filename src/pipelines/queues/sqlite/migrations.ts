/**
 * Numbered schema migrations of the embedded queue; `PRAGMA user_version` records the last one
 * applied, so opening an older file upgrades it in place and a newer one is left alone.
 */
import type Database from 'better-sqlite3';

const MIGRATIONS: string[] = [
  // 1: jobs, steps, logs, schedule ticks
  `
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    state TEXT NOT NULL,
    input TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_deliveries INTEGER NOT NULL,
    retried INTEGER NOT NULL DEFAULT 0, -- re-queued by hand or by shutdown: steps may exist
    created_at INTEGER NOT NULL,
    run_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    lease_owner TEXT,
    lease_token INTEGER NOT NULL DEFAULT 0,
    lease_expires_at INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    progress REAL,
    progress_message TEXT,
    result TEXT,
    error TEXT
  );
  CREATE UNIQUE INDEX jobs_idempotency ON jobs(pipeline, idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX jobs_ready ON jobs(pipeline, state, priority, run_at);
  CREATE INDEX jobs_state ON jobs(state, lease_expires_at);
  CREATE INDEX jobs_finished ON jobs(pipeline, finished_at) WHERE finished_at IS NOT NULL;
  CREATE TABLE job_steps (
    job_id TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    result TEXT,
    error TEXT,
    checkpoint TEXT,
    started_at INTEGER,
    finished_at INTEGER,
    PRIMARY KEY (job_id, name)
  );
  CREATE TABLE job_logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    message TEXT NOT NULL,
    data TEXT
  );
  CREATE INDEX job_logs_job ON job_logs(job_id, seq);
  CREATE TABLE schedule_ticks (
    key TEXT PRIMARY KEY,
    last_tick INTEGER NOT NULL
  );
  `,
  // 2: deliveries of the runs before the latest retry (attempts counts the current run's)
  `
  ALTER TABLE jobs ADD COLUMN earlier_attempts INTEGER NOT NULL DEFAULT 0;
  `,
  // 3: the marker that ends a log cut at its line limit
  `
  ALTER TABLE job_logs ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0;
  `,
  // 4: indexes over the rows of one state each, so a job's claim and completion each move it between
  // two small indexes instead of rewriting entries in every index that named its state; listing by
  // pipeline, newest first, reads jobs_pipeline (a pipeline never changes, so no transition writes it)
  `
  DROP INDEX jobs_ready;
  DROP INDEX jobs_state;
  CREATE INDEX jobs_pipeline ON jobs(pipeline);
  CREATE INDEX jobs_queued ON jobs(pipeline, priority, run_at) WHERE state = 'queued';
  CREATE INDEX jobs_running ON jobs(pipeline, lease_expires_at) WHERE state = 'running';
  CREATE INDEX jobs_failed ON jobs(pipeline) WHERE state = 'failed';
  CREATE INDEX jobs_cancelled ON jobs(pipeline) WHERE state = 'cancelled';
  `,
];

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
