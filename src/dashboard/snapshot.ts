/**
 * Builds the dashboard's snapshot from the live server: the model manager's status, the prom-client
 * registry (request counters by version and by protocol, the streaming sessions gauge, latency/batch
 * histograms, read as deltas between samples), the
 * pipeline service (counts, recent jobs with their steps, failures) and the process and machine.
 * One sampler per server; every watcher shares its samples, so rates do not depend on how many
 * browsers are open.
 */
import os from 'node:os';
import type { Registry } from 'prom-client';
import type { ModelManager } from '../inference/model-manager.js';
import type { PipelineService } from '../pipelines/service.js';
import type { JobView } from '../pipelines/job-view.js';
import { GpuProbe } from '../telemetry/gpu-probe.js';
import { histogramDelta, quantile, readCounter, readHistogram, type HistogramPoint } from './metric-window.js';
import type { Banner, DashboardSnapshot, JobRow, JobsSection, MachineSection, ModelRow, TrafficRow } from './snapshot-types.js';

export interface SnapshotSources {
  manager: ModelManager;
  registry: Registry;
  /** A getter: the pipeline service is created after the dashboard is mounted, and may be absent. */
  pipelines: () => PipelineService | undefined;
  serverVersion: string;
  /** How far back latency percentiles and batch sizes look (default 10 s). */
  windowMs?: number;
  recentJobs?: number;
}

/** The cumulative readings one sample holds; deltas between two of them give the rates. */
interface Reading {
  at: number;
  cpu: NodeJS.CpuUsage;
  requests: Map<string, number>;
  errors: Map<string, number>;
  /** Requests by model and protocol label. */
  byProtocol: Map<string, number>;
  sessions: Map<string, number>;
  latency: Map<string, HistogramPoint>;
  batch: Map<string, HistogramPoint>;
  tokens: Map<string, number>;
  finished: number;
}

const byVersion = (l: Record<string, string | number>) => `${l.model}\u0000${l.version}`;
const byModel = (l: Record<string, string | number>) => String(l.model);
const byProtocol = (l: Record<string, string | number>) => `${l.model}\u0000${l.protocol}`;
const ms = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds * 1000);

function errorText(e: { message?: string; code?: string; step?: string } | undefined): string | undefined {
  if (!e) return undefined;
  return [e.step ? `step ${e.step}:` : '', e.code ? `[${e.code}]` : '', e.message ?? ''].filter(Boolean).join(' ');
}

export function toJobRow(job: JobView): JobRow {
  return {
    id: job.id, pipeline: job.pipeline, state: job.state, attempts: job.attempts, createdAt: job.createdAt,
    startedAt: job.startedAt, finishedAt: job.finishedAt, durationMs: job.durationMs, progress: job.progress,
    error: errorText(job.error),
    steps: (job.steps ?? []).map((s) => ({
      name: s.name, state: s.state, attempts: s.attempts, startedAt: s.startedAt, finishedAt: s.finishedAt,
      durationMs: s.durationMs, error: errorText(s.error),
    })),
  };
}

export class SnapshotBuilder {
  private readings: Reading[] = [];
  private readonly gpu = new GpuProbe();
  private readonly windowMs: number;

  constructor(private readonly sources: SnapshotSources) {
    this.windowMs = sources.windowMs ?? 10_000;
  }

  async build(): Promise<DashboardSnapshot> {
    const reading = await this.read();
    const previous = this.readings.at(-1);
    // The oldest reading still inside the window is the base for percentiles and batch sizes.
    const base = this.readings.find((r) => reading.at - r.at <= this.windowMs) ?? previous;
    this.readings.push(reading);
    while (this.readings.length > 1 && reading.at - this.readings[0].at > this.windowMs) this.readings.shift();

    const models = this.models(reading, previous, base);
    const traffic = this.traffic(reading, previous);
    const jobs = await this.jobs(reading, previous);
    return {
      at: reading.at,
      uptimeSeconds: Math.round(process.uptime()),
      serverVersion: this.sources.serverVersion,
      models,
      traffic,
      jobs,
      machine: this.machine(reading, previous),
      banners: await this.banners(models),
    };
  }

  private async read(): Promise<Reading> {
    const { registry } = this.sources;
    const statusOf = (l: Record<string, string | number>) => String(l.status);
    const all = await readCounter(registry, 'forja_inference_requests_total', (l) => `${byVersion(l)}\u0000${statusOf(l)}`);
    const requests = new Map<string, number>();
    const errors = new Map<string, number>();
    for (const [key, n] of all) {
      const [model, version, status] = key.split('\u0000');
      const k = `${model}\u0000${version}`;
      requests.set(k, (requests.get(k) ?? 0) + n);
      if (Number(status) >= 400) errors.set(k, (errors.get(k) ?? 0) + n);
    }
    const counts = await this.sources.pipelines()?.counts().catch(() => undefined);
    return {
      at: Date.now(),
      cpu: process.cpuUsage(),
      requests,
      errors,
      byProtocol: await readCounter(registry, 'forja_inference_requests_total', byProtocol),
      sessions: await readCounter(registry, 'forja_sessions_active', byModel),
      latency: await readHistogram(registry, 'forja_inference_request_duration_seconds', byVersion),
      batch: await readHistogram(registry, 'forja_inference_batch_size', byVersion),
      tokens: await readCounter(registry, 'forja_llm_completion_tokens_total', byModel),
      finished: counts ? counts.succeeded + counts.failed + counts.cancelled : 0,
    };
  }

  private models(now: Reading, previous: Reading | undefined, base: Reading | undefined): ModelRow[] {
    const seconds = previous ? Math.max(0.001, (now.at - previous.at) / 1000) : 0;
    return this.sources.manager.status().map((s) => {
      const key = `${s.name}\u0000${s.version}`;
      const requests = now.requests.get(key) ?? 0;
      const latency = now.latency.get(key);
      const window = latency ? histogramDelta(latency, base?.latency.get(key)) : undefined;
      const batch = now.batch.get(key);
      const batchWindow = batch ? histogramDelta(batch, base?.batch.get(key)) : undefined;
      const tokens = now.tokens.get(s.name);
      return {
        name: s.name, version: s.version, kind: s.kind, state: s.state, reason: s.reason, device: s.device,
        memoryBytes: s.memoryBytes, inFlight: s.inFlight, requests, errors: now.errors.get(key) ?? 0,
        requestsPerSec: previous ? (requests - (previous.requests.get(key) ?? 0)) / seconds : 0,
        p50Ms: window ? ms(quantile(window, 0.5)) : undefined,
        p95Ms: window ? ms(quantile(window, 0.95)) : undefined,
        batchSize: batchWindow && batchWindow.count > 0 ? batchWindow.sum / batchWindow.count : undefined,
        tokensPerSec: tokens !== undefined && previous ? (tokens - (previous.tokens.get(s.name) ?? 0)) / seconds : undefined,
      };
    });
  }

  private traffic(now: Reading, previous: Reading | undefined): TrafficRow[] {
    const seconds = previous ? Math.max(0.001, (now.at - previous.at) / 1000) : 0;
    const names = [...new Set(this.sources.manager.status().map((s) => s.name))];
    return names.map((model) => {
      const protocols: TrafficRow['protocols'] = {};
      for (const [key, requests] of now.byProtocol) {
        const [m, protocol] = key.split('\u0000');
        if (m !== model) continue;
        protocols[protocol] = { requests, requestsPerSec: previous ? (requests - (previous.byProtocol.get(key) ?? 0)) / seconds : 0 };
      }
      return { model, sessions: now.sessions.get(model) ?? 0, protocols };
    });
  }

  private async jobs(now: Reading, previous: Reading | undefined): Promise<JobsSection | undefined> {
    const service = this.sources.pipelines();
    if (!service?.backend) return undefined; // no pipelines directory, or not started yet
    const limit = this.sources.recentJobs ?? 10;
    // Steps come only with a full get(); a handful per second is cheap for either backend.
    const withSteps = (jobs: JobView[]) => Promise.all(jobs.map((j) => service.get(j.id).catch(() => j)));
    const [counts, recent, failed] = await Promise.all([
      service.counts(),
      service.list({ limit }).then((p) => withSteps(p.jobs)),
      service.list({ state: 'failed', limit: 5 }).then((p) => withSteps(p.jobs)),
    ]);
    const seconds = previous ? Math.max(0.001, (now.at - previous.at) / 1000) : 0;
    return {
      counts: { ...counts },
      pipelines: service.pipelines().map((p) => p.name),
      recent: recent.map(toJobRow),
      failures: failed.map(toJobRow),
      finishedPerSec: previous ? Math.max(0, now.finished - previous.finished) / seconds : 0,
    };
  }

  private machine(now: Reading, previous: Reading | undefined): MachineSection {
    const mem = process.memoryUsage();
    let cpuPercent = 0;
    if (previous) {
      const usedMicros = now.cpu.user - previous.cpu.user + now.cpu.system - previous.cpu.system;
      cpuPercent = (usedMicros / 1000 / Math.max(1, now.at - previous.at)) * 100;
    }
    return {
      hostname: os.hostname(), cpus: os.availableParallelism(), loadavg: os.loadavg(),
      processCpuPercent: cpuPercent, rssBytes: mem.rss, heapUsedBytes: mem.heapUsed,
      totalMemBytes: os.totalmem(), freeMemBytes: os.freemem(), gpus: this.gpu.current(),
    };
  }

  private async banners(models: ModelRow[]): Promise<Banner[]> {
    const banners: Banner[] = [];
    const fallbacks = await readCounter(this.sources.registry, 'forja_model_fallbacks_total', (l) => `${l.model}\u0000${l.version}\u0000${l.from}\u0000${l.to}`);
    for (const [key, n] of fallbacks) {
      if (n <= 0) continue;
      const [model, version, from, to] = key.split('\u0000');
      banners.push({ level: 'warning', kind: 'fallback', message: `${model} v${version} fell back from ${from} to ${to}${n > 1 ? ` (${n} times)` : ''}` });
    }
    for (const m of models) {
      if (m.state === 'UNAVAILABLE') banners.push({ level: 'error', kind: 'load-failed', message: `${m.name} v${m.version} failed to load: ${m.reason ?? 'unknown reason'}` });
    }
    for (const f of this.sources.pipelines()?.loadFailures ?? []) {
      banners.push({ level: 'error', kind: 'pipeline-failed', message: `pipeline ${f.name} (${f.file}) failed to load: ${f.error}` });
    }
    return banners;
  }
}
