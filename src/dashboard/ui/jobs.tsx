/**
 * The jobs panel: counts by state, recent runs with a bar per step on their timeline, and failures
 * with their error and a Retry button; a click on a job's id opens its view (steps and log).
 * Actions go through the jobs API (POST /api/jobs/{id}/retry|cancel).
 */
import { useState } from 'preact/hooks';
import type { JobRow, JobsSection } from '../snapshot-types.js';
import { millis, timeline } from './format.js';
import { JobDetail } from './job-view.js';

const STATES = ['queued', 'delayed', 'running', 'succeeded', 'failed', 'cancelled'];

async function act(id: string, action: 'retry' | 'cancel'): Promise<string | undefined> {
  const res = await fetch(`/api/jobs/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
  if (res.ok) return undefined;
  const body = await res.json().catch(() => ({})) as { error?: string };
  return body.error ?? `${action} failed with HTTP ${res.status}`;
}

function Actions({ job, onMessage }: { job: JobRow; onMessage: (m: string) => void }) {
  const [busy, setBusy] = useState(false);
  const run = (action: 'retry' | 'cancel') => {
    setBusy(true);
    act(job.id, action)
      .then((err) => onMessage(err ? `${action} ${job.id}: ${err}` : `${action} requested for ${job.id}`))
      .catch((err: Error) => onMessage(`${action} ${job.id}: ${err.message}`))
      .finally(() => setBusy(false));
  };
  return (
    <span class="actions">
      {job.state === 'failed' || job.state === 'cancelled'
        ? <button type="button" class="retry" data-job={job.id} disabled={busy} onClick={() => run('retry')}>Retry</button> : null}
      {job.state === 'queued' || job.state === 'running'
        ? <button type="button" class="cancel" data-job={job.id} disabled={busy} onClick={() => run('cancel')}>Cancel</button> : null}
    </span>
  );
}

function Timeline({ job, now }: { job: JobRow; now: number }) {
  const bars = timeline(job.steps, now);
  if (bars.length === 0) return <span class="muted">no steps yet</span>;
  return (
    <div class="timeline" title={job.steps.map((s) => `${s.name}: ${s.state}${s.durationMs !== undefined ? ` ${millis(s.durationMs)}` : ''}`).join('\n')}>
      {bars.map((b) => (
        // Positions depend on the data; preact sets them through element.style (CSSOM), which the CSP
        // allows, unlike style attributes written in markup.
        <span key={b.name} class={`bar step-${b.state}`} style={{ left: `${(b.left * 100).toFixed(1)}%`, width: `${(b.width * 100).toFixed(1)}%` }}>{b.name}</span>
      ))}
    </div>
  );
}

function JobLine({ job, now, onMessage, onOpen }: { job: JobRow; now: number; onMessage: (m: string) => void; onOpen: (id: string) => void }) {
  return (
    <tr data-job={job.id} data-state={job.state} class={`job job-${job.state}`}>
      <td class="mono" title={job.id}><button type="button" class="open-job link" onClick={() => onOpen(job.id)}>{job.id.slice(0, 8)}</button></td>
      <td>{job.pipeline}</td>
      <td><span class={`state state-${job.state}`}>{job.state}</span>{job.attempts > 1 ? <span class="muted"> ×{job.attempts}</span> : null}</td>
      <td class="num">{millis(job.durationMs)}</td>
      <td class="tl"><Timeline job={job} now={now} /></td>
      <td class="err">{job.error ?? ''}</td>
      <td><Actions job={job} onMessage={onMessage} /></td>
    </tr>
  );
}

export function JobsPanel({ jobs, now }: { jobs: JobsSection | undefined; now: number }) {
  const [message, setMessage] = useState<string | undefined>();
  const [open, setOpen] = useState<string | undefined>();
  if (!jobs) return <p class="empty">No pipelines directory (start with <code>--pipelines DIR</code>).</p>;
  return (
    <div class="jobs">
      <ul class="counts" id="job-counts">
        {STATES.map((s) => <li key={s} class={`count state-${s}`} data-state={s}><b>{jobs.counts[s] ?? 0}</b> {s}</li>)}
        <li class="count muted">{jobs.pipelines.length} pipelines: {jobs.pipelines.join(', ') || 'none'}</li>
      </ul>
      {message ? <p class="message" role="status">{message}</p> : null}
      <h3>Failures</h3>
      {jobs.failures.length === 0 ? <p class="empty" id="no-failures">No failed jobs.</p> : (
        <ul class="failures" id="failures">
          {jobs.failures.map((j) => (
            <li key={j.id} data-job={j.id}>
              <span class="mono">{j.id.slice(0, 8)}</span> <b>{j.pipeline}</b> <span class="err">{j.error ?? 'failed'}</span> <Actions job={j} onMessage={setMessage} />
            </li>
          ))}
        </ul>
      )}
      <h3>Recent runs</h3>
      {jobs.recent.length === 0 ? <p class="empty">No jobs yet.</p> : (
        <table class="recent" id="recent-jobs">
          <thead><tr><th>job</th><th>pipeline</th><th>state</th><th class="num">duration</th><th>steps</th><th>error</th><th /></tr></thead>
          <tbody>{jobs.recent.map((j) => <JobLine key={j.id} job={j} now={now} onMessage={setMessage} onOpen={setOpen} />)}</tbody>
        </table>
      )}
      {open ? <JobDetail key={open} id={open} onClose={() => setOpen(undefined)} /> : null}
    </div>
  );
}
