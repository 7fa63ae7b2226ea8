/**
 * A load driver for one HTTP endpoint, two ways:
 *  - closed loop (`concurrency`): N clients, each sends its next request when the last one answered;
 *  - open loop (`rate`): requests leave on a timer schedule whether or not earlier ones answered, so
 *    a slow server shows up as latency and errors instead of silently lowering the offered load.
 * Both stop at `durationS` and at `maxRequests`; the rate is paced with timers (never a busy loop)
 * and in-flight requests are capped, the excess counted as dropped errors.
 */
import http from 'node:http';
import { percentile, round } from '../telemetry/stats.js';

export interface LoadOptions {
  url: string;
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Closed loop: this many clients. */
  concurrency?: number;
  /** Open loop: requests per second. */
  rate?: number;
  durationS: number;
  maxRequests?: number;
  /** A request unanswered after this long counts as an error. */
  timeoutMs?: number;
  /** Open loop only: requests beyond this many in flight are dropped (and counted as errors). */
  maxInFlight?: number;
}

export interface LoadResult {
  mode: 'concurrency' | 'rate';
  concurrency?: number;
  rate?: number;
  duration_s: number;
  requests: number;
  ok: number;
  errors: number;
  error_rate: number;
  /** Answered requests per second, errors included. */
  throughput_rps: number;
  /** Latency of successful (2xx) requests. */
  latency_ms: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  /** Count by HTTP status, plus `timeout`, `network` and `dropped`. */
  outcomes: Record<string, number>;
  /** The first few distinct error bodies or messages, to tell why without a debugger. */
  error_samples: string[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { concurrency, rate } = options;
  if ((concurrency === undefined) === (rate === undefined)) throw new Error('give either a concurrency or a rate');
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) throw new Error('concurrency must be an integer >= 1');
  if (rate !== undefined && !(rate > 0)) throw new Error('rate must be > 0 requests per second');
  if (!(options.durationS > 0)) throw new Error('duration must be > 0 seconds');

  const target = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency ?? options.maxInFlight ?? 256 });
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
  const headers = { ...options.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRequests = options.maxRequests ?? Number.POSITIVE_INFINITY;

  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  const errorSamples = new Set<string>();
  let sent = 0;
  let ok = 0;
  const count = (outcome: string, sample?: string) => {
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (sample !== undefined && errorSamples.size < 5) errorSamples.add(`${outcome}: ${sample.slice(0, 300)}`);
  };

  const once = () => new Promise<void>((resolve) => {
    sent++;
    const t0 = performance.now();
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: options.method ?? (body ? 'POST' : 'GET'), headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          ok++;
          latencies.push(performance.now() - t0);
          count(String(status));
        } else {
          count(String(status), Buffer.concat(chunks).toString('utf8'));
        }
        resolve();
      });
      res.on('error', (err) => { count('network', err.message); resolve(); });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => {
      count(/no answer within/.test(err.message) ? 'timeout' : 'network', err.message);
      resolve();
    });
    req.end(body);
  });

  const t0 = performance.now();
  const deadline = t0 + options.durationS * 1000;
  if (concurrency !== undefined) {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline && sent < maxRequests) await once();
    }));
  } else {
    const interval = 1000 / rate!;
    const total = Math.min(maxRequests, Math.max(1, Math.floor(options.durationS * rate!)));
    const maxInFlight = options.maxInFlight ?? 256;
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < total; i++) {
      const wait = t0 + i * interval - performance.now();
      // Timers are ~1 ms coarse: requests due within the next millisecond leave together.
      if (wait >= 1) await sleep(wait);
      if (performance.now() >= deadline + interval) break;
      if (inFlight.size >= maxInFlight) {
        sent++;
        count('dropped', `more than ${maxInFlight} requests in flight`);
        continue;
      }
      const p = once().finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  }
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();

  const errors = sent - ok;
  const pct = (p: number) => (latencies.length ? round(percentile(latencies, p)) : null);
  return {
    mode: concurrency !== undefined ? 'concurrency' : 'rate',
    ...(concurrency !== undefined ? { concurrency } : { rate }),
    duration_s: round(seconds),
    requests: sent,
    ok,
    errors,
    error_rate: sent ? round(errors / sent, 6) : 0,
    throughput_rps: round(sent / seconds, 1),
    latency_ms: { p50: pct(50), p95: pct(95), p99: pct(99), max: latencies.length ? round(Math.max(...latencies)) : null },
    outcomes,
    error_samples: [...errorSamples],
  };
}
