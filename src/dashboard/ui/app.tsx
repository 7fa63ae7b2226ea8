/**
 * The dashboard page. It subscribes to /dashboard/events (SSE) and re-renders on every snapshot;
 * EventSource reconnects by itself after a drop, and a new one is opened after a refusal. All data is rendered as text by preact, never
 * parsed as HTML, so a model or job error that contains markup shows as that markup.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './app.css';
import type { DashboardSnapshot } from '../snapshot-types.js';
import { Chart } from './chart.js';
import { duration } from './format.js';
import { emptyHistory, record, type History } from './history.js';
import { JobsPanel } from './jobs.js';
import { MachinePanel } from './machine.js';
import { ModelsTable } from './models.js';
import { TrafficTable } from './traffic.js';

type Connection = 'connecting' | 'live' | 'reconnecting';

function useSnapshots(): { snapshot?: DashboardSnapshot; history: History; connection: Connection } {
  const [state, setState] = useState<{ snapshot?: DashboardSnapshot; history: History }>({ history: emptyHistory() });
  const [connection, setConnection] = useState<Connection>('connecting');
  useEffect(() => {
    let source: EventSource;
    let again: number | undefined;
    const connect = () => {
      source = new EventSource('/dashboard/events');
      source.addEventListener('open', () => setConnection('live'));
      source.addEventListener('error', () => {
        setConnection('reconnecting');
        // An answer other than 200 (503 while a server drains for shutdown) closes an EventSource for good.
        if (source.readyState === EventSource.CLOSED) again = window.setTimeout(connect, 2000);
      });
      source.addEventListener('snapshot', (e) => {
        const snapshot = JSON.parse((e as MessageEvent<string>).data) as DashboardSnapshot;
        setConnection('live');
        setState((s) => ({ snapshot, history: record(s.history, snapshot) }));
      });
    };
    connect();
    return () => {
      window.clearTimeout(again);
      source.close();
    };
  }, []);
  return { ...state, connection };
}

/** Shown when the page was opened through a login session (the server marks the body; the cookie is HttpOnly). */
function LogoutButton() {
  if (document.body.dataset.auth !== 'session') return null;
  const logout = () => {
    void fetch('/dashboard/logout', { method: 'POST' }).finally(() => window.location.assign('/'));
  };
  return <button type="button" id="logout" class="logout" onClick={logout}>Log out</button>;
}

function App() {
  const { snapshot, history, connection } = useSnapshots();
  if (!snapshot) return <p class="loading">Connecting to the server…</p>;
  const t = history.t;
  return (
    <>
      <header>
        <h1>Forja</h1>
        <span class="muted">v{snapshot.serverVersion} · up {duration(snapshot.uptimeSeconds)}</span>
        <span class={`conn conn-${connection}`} id="connection">{connection}</span>
        <time class="muted" id="updated">{new Date(snapshot.at).toLocaleTimeString()}</time>
        <LogoutButton />
      </header>
      {snapshot.banners.length > 0 ? (
        <section class="banners" id="banners">
          {snapshot.banners.map((b, i) => <p key={i} class={`banner banner-${b.level}`} data-kind={b.kind}>{b.message}</p>)}
        </section>
      ) : null}
      <section id="models">
        <h2>Models</h2>
        <ModelsTable models={snapshot.models} />
        <div class="charts">
          <Chart title="requests/s (all models)" series={[{ label: 'req/s', stroke: '#2f6fde' }]} data={[t, history.requestsPerSec]} />
          <Chart title="p95 latency, ms (slowest model)" series={[{ label: 'p95 ms', stroke: '#d9822b' }]} data={[t, history.p95Ms]} />
          {snapshot.models.some((m) => m.kind === 'llm')
            ? <Chart title="LLM tokens/s" series={[{ label: 'tokens/s', stroke: '#7a4fd6' }]} data={[t, history.tokensPerSec]} /> : null}
        </div>
      </section>
      <section id="traffic">
        <h2>Traffic by protocol</h2>
        <TrafficTable traffic={snapshot.traffic} models={snapshot.models} />
      </section>
      <section id="jobs">
        <h2>Jobs</h2>
        <JobsPanel jobs={snapshot.jobs} now={snapshot.at} />
      </section>
      <section id="machine-section">
        <h2>Machine</h2>
        <MachinePanel machine={snapshot.machine} />
        <div class="charts">
          <Chart title="process CPU %" series={[{ label: 'CPU %', stroke: '#2e9e6b' }]} data={[t, history.cpuPercent]} />
          <Chart title="RSS, MiB" series={[{ label: 'RSS MiB', stroke: '#c2416b' }]} data={[t, history.rssMiB]} />
        </div>
      </section>
    </>
  );
}

render(<App />, document.getElementById('app')!);
