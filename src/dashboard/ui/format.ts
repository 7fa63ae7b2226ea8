/**
 * Number and time formatting for the dashboard page. Kept free of the DOM so the server-side tests
 * can check it; the page renders the strings as text nodes only.
 */

export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function millis(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  if (n < 1) return `${(n * 1000).toFixed(0)} µs`;
  if (n < 1000) return `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(1)} s`;
  return `${Math.floor(n / 60_000)} m ${Math.round((n % 60_000) / 1000)} s`;
}

export function rate(n: number | undefined, digits = 1): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  return n >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

export function percent(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? '—' : `${n.toFixed(0)} %`;
}

export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

/** "cuda", "cpu", "metal"… shown as the device class the issue asks for. */
export function deviceClass(device: string | undefined): string {
  if (!device) return '—';
  return /^(cpu|wasm)/i.test(device) ? 'CPU' : `GPU (${device})`;
}

/** Where each step sits on a job's timeline, as fractions of the job's span (for the bar). */
export interface TimelineBar { name: string; state: string; left: number; width: number }

export function timeline(steps: Array<{ name: string; state: string; startedAt?: string; finishedAt?: string }>, now: number): TimelineBar[] {
  const spans = steps.filter((s) => s.startedAt).map((s) => ({
    name: s.name, state: s.state, start: Date.parse(s.startedAt!), end: s.finishedAt ? Date.parse(s.finishedAt) : now,
  }));
  if (spans.length === 0) return [];
  const t0 = Math.min(...spans.map((s) => s.start));
  const t1 = Math.max(...spans.map((s) => s.end), t0 + 1);
  return spans.map((s) => ({
    name: s.name, state: s.state, left: (s.start - t0) / (t1 - t0), width: Math.max(0.01, (s.end - s.start) / (t1 - t0)),
  }));
}
