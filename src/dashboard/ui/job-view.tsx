/**
 * One job, opened from the jobs panel: its state, timing and steps (GET /api/jobs/{id}) and its
 * stored log (GET /api/jobs/{id}/logs, read on from the last line shown). Both are read again every
 * second until the job has ended and its last lines are in. Everything renders as text.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { JobView, LogView } from '../../pipelines/job-view.js';
import { millis } from './format.js';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);
const REFRESH_MS = 1000;

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = await res.json().catch(() => ({})) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

function useJob(id: string): { job?: JobView; logs: LogView[]; error?: string } {
  const [job, setJob] = useState<JobView | undefined>();
  const [logs, setLogs] = useState<LogView[]>([]);
  const [error, setError] = useState<string | undefined>();
  const after = useRef(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    after.current = 0;
    setJob(undefined);
    setLogs([]);
    const base = `/api/jobs/${encodeURIComponent(id)}`;
    const refresh = async () => {
      try {
        // The job first: when it has ended, the lines read after it are all the lines there are.
        const next = await getJson<JobView>(base);
        let more: LogView[];
        do {
          const page = await getJson<{ logs: LogView[]; next_after: number }>(`${base}/logs?after=${after.current}&limit=1000`);
          more = page.logs;
          after.current = page.next_after;
          if (!stopped && more.length > 0) setLogs((l) => [...l, ...more]);
        } while (more.length === 1000 && !stopped);
        if (stopped) return;
        setJob(next);
        setError(undefined);
        if (FINISHED.has(next.state)) return;
      } catch (err) {
        if (!stopped) setError((err as Error).message);
      }
      if (!stopped) timer = setTimeout(() => void refresh(), REFRESH_MS);
    };
    void refresh();
    return () => { stopped = true; clearTimeout(timer); };
  }, [id]);
  return { job, logs, error };
}

export function JobDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const { job, logs, error } = useJob(id);
  return (
    <div class="job-view" id="job-view" data-job={id} data-state={job?.state ?? ''}>
      <h3>
        Job <span class="mono">{id}</span> <button type="button" class="close" onClick={onClose}>Close</button>
      </h3>
      {error ? <p class="err">{error}</p> : null}
      {job ? (
        <p class="summary">
          <b>{job.pipeline}</b> <span class={`state state-${job.state}`}>{job.state}</span>
          <span class="muted"> attempts {job.attempts} · {job.durationMs === undefined ? 'not started' : millis(job.durationMs)}</span>
          {job.error ? <span class="err"> {job.error.message}</span> : null}
        </p>
      ) : <p class="muted">Loading…</p>}
      {job?.steps && job.steps.length > 0 ? (
        <table class="steps" id="job-steps">
          <thead><tr><th>step</th><th>state</th><th class="num">attempts</th><th class="num">duration</th><th>error</th></tr></thead>
          <tbody>
            {job.steps.map((s) => (
              <tr key={s.name} data-step={s.name} data-state={s.state}>
                <td>{s.name}</td><td><span class={`state state-${s.state}`}>{s.state}</span></td>
                <td class="num">{s.attempts}</td><td class="num">{millis(s.durationMs)}</td><td class="err">{s.error?.message ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <h3>Log</h3>
      {logs.length === 0 ? <p class="empty" id="job-logs-empty">No log lines.</p> : (
        <ol class="log mono" id="job-logs">
          {logs.map((l) => (
            <li key={l.seq} data-seq={l.seq} class={l.truncated ? 'truncated' : undefined}>
              <time>{l.at.slice(11, 23)}</time> {l.message}{l.data === undefined ? '' : ` ${JSON.stringify(l.data)}`}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
