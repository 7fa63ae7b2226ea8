/**
 * The page's short memory of snapshots, turned into chart columns (uPlot wants one array for x and
 * one per series). Pure, so it is tested on the server side.
 */
import type { DashboardSnapshot } from '../snapshot-types.js';

export const HISTORY_POINTS = 120;

export interface History {
  t: number[];
  requestsPerSec: number[];
  p95Ms: Array<number | null>;
  cpuPercent: number[];
  rssMiB: number[];
  jobsPerSec: number[];
  tokensPerSec: number[];
}

export const emptyHistory = (): History => ({ t: [], requestsPerSec: [], p95Ms: [], cpuPercent: [], rssMiB: [], jobsPerSec: [], tokensPerSec: [] });

/** Returns a new History with `s` appended and the oldest points dropped past `max`. */
export function record(h: History, s: DashboardSnapshot, max = HISTORY_POINTS): History {
  const p95s = s.models.map((m) => m.p95Ms).filter((v): v is number => v !== undefined);
  const push = <T,>(arr: T[], v: T) => [...arr, v].slice(-max);
  return {
    t: push(h.t, s.at / 1000),
    requestsPerSec: push(h.requestsPerSec, s.models.reduce((a, m) => a + m.requestsPerSec, 0)),
    p95Ms: push(h.p95Ms, p95s.length ? Math.max(...p95s) : null),
    cpuPercent: push(h.cpuPercent, s.machine.processCpuPercent),
    rssMiB: push(h.rssMiB, s.machine.rssBytes / (1024 * 1024)),
    jobsPerSec: push(h.jobsPerSec, s.jobs?.finishedPerSec ?? 0),
    tokensPerSec: push(h.tokensPerSec, s.models.reduce((a, m) => a + (m.tokensPerSec ?? 0), 0)),
  };
}
