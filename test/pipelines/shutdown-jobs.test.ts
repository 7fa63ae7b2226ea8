/**
 * `forja serve` stopped while a job runs. SIGTERM: the running step gets the configured grace, then its
 * signal is aborted and the job is handed back (queued, completed steps kept), and the process exits 0;
 * the next start finishes it without re-running the completed step. A second SIGINT exits at once;
 * the job it left running is taken back by the next start of the same node before its lease expires.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempDir, waitFor } from './helpers.js';

const PIPELINES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'shutdown-pipelines');

interface Mark { what: string; job: string; pid: number; at: number }

function marks(file: string): Mark[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
    const [what, job, pid, at] = line.split(' ');
    return { what, job, pid: Number(pid), at: Number(at) };
  });
}

function jobRow(dataDir: string, id: string): { state: string; lease_expires_at: number | null } {
  const db = new Database(path.join(dataDir, 'jobs.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT state, lease_expires_at FROM jobs WHERE id = ?').get(id) as { state: string; lease_expires_at: number | null };
  } finally {
    db.close();
  }
}

async function start(dataDir: string, marksFile: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  return startServer(['--models', tempDir(), '--pipelines', PIPELINES, '--data', dataDir], { env: { FORJA_TEST_MARKS: marksFile, ...env } });
}

async function submit(server: ServerProcess): Promise<string> {
  const res = await fetch(`${server.url}/api/jobs`, { method: 'POST', body: JSON.stringify({ pipeline: 'patient' }), headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 202);
  return ((await res.json()) as { id: string }).id;
}

async function waitForState(server: ServerProcess, id: string, state: string): Promise<void> {
  await waitFor(async () => ((await (await fetch(`${server.url}/api/jobs/${id}`)).json()) as { state: string }).state === state, 20_000, 20);
}

describe('stopping forja serve with a running job', () => {
  it('SIGTERM aborts the running step after the grace, hands the job back and exits 0; the next start finishes it', async () => {
    const dataDir = tempDir();
    const marksFile = path.join(tempDir(), 'marks');
    fs.writeFileSync(marksFile, '');
    const first = await start(dataDir, marksFile, { FORJA_PIPELINES__SHUTDOWN_GRACE_MS: '200' });
    const id = await submit(first);
    await waitFor(() => marks(marksFile).some((m) => m.what === 'long'));
    assert.equal(await first.stop('SIGTERM'), 0);
    assert.ok(marks(marksFile).some((m) => m.what === 'aborted' && m.pid === first.child.pid), `the step's signal was aborted: ${fs.readFileSync(marksFile, 'utf8')}`);
    assert.equal(jobRow(dataDir, id).state, 'queued', 'the job was handed back');

    const second = await start(dataDir, marksFile, { FORJA_TEST_FINISH: '1' });
    try {
      await waitForState(second, id, 'succeeded');
    } finally {
      await second.stop('SIGTERM');
    }
    assert.equal(marks(marksFile).filter((m) => m.what === 'quick').length, 1, 'the completed step did not run again');
  });

  it('a second SIGINT exits at once; the next start takes the job back before its lease expires', async () => {
    const dataDir = tempDir();
    const marksFile = path.join(tempDir(), 'marks');
    fs.writeFileSync(marksFile, '');
    const first = await start(dataDir, marksFile, { FORJA_PIPELINES__SHUTDOWN_GRACE_MS: '60000', FORJA_SERVER__SHUTDOWN_TIMEOUT_MS: '120000' });
    const id = await submit(first);
    await waitFor(() => marks(marksFile).some((m) => m.what === 'long'));
    first.child.kill('SIGINT');
    // The first SIGINT was handled once the server stops answering as ready (two signals sent at once may merge).
    await waitFor(async () => (await fetch(`${first.url}/v2/health/ready`).then((r) => r.status, () => 0)) !== 200, 20_000, 20);
    assert.equal(await first.stop('SIGINT'), 130, 'the second SIGINT ends the process without waiting out the grace');
    const left = jobRow(dataDir, id);
    assert.equal(left.state, 'running', 'killed before it could hand the job back');

    const second = await start(dataDir, marksFile, { FORJA_TEST_FINISH: '1' });
    try {
      await waitForState(second, id, 'succeeded');
    } finally {
      await second.stop('SIGTERM');
    }
    const resumed = marks(marksFile).find((m) => m.what === 'long' && m.pid === second.child.pid);
    assert.ok(resumed, 'the restarted process ran the step');
    assert.ok(resumed.at < left.lease_expires_at!, 'taken back at once, not after the dead process\'s lease expired');
    assert.equal(marks(marksFile).filter((m) => m.what === 'quick').length, 1, 'the completed step did not run again');
  });
});
