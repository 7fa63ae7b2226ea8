/**
 * The JSON the dashboard sends to the browser, once a second over SSE and on GET /dashboard/snapshot.
 * Shared by the server-side builder and the page (type-only, so the page bundle carries none of it).
 */

export interface ModelRow {
  name: string;
  version: string;
  kind: string;
  state: string;
  /** Why a version is UNAVAILABLE (the load error), as the manager reports it. */
  reason?: string;
  device?: string;
  memoryBytes: number;
  inFlight: number;
  /** Inference requests since start (every status). */
  requests: number;
  errors: number;
  /** Over the last sample interval. */
  requestsPerSec: number;
  /** Over the window (a few seconds); undefined with no requests in it. */
  p50Ms?: number;
  p95Ms?: number;
  /** Mean items per executed batch over the window. */
  batchSize?: number;
  /** Generated tokens per second over the last interval (GGUF models). */
  tokensPerSec?: number;
}

/** One model's requests over one protocol. */
export interface ProtocolTraffic {
  /** Since start, every status. */
  requests: number;
  /** Over the last sample interval. */
  requestsPerSec: number;
}

/** One model's traffic, all versions together: open streaming sessions and requests by protocol. */
export interface TrafficRow {
  model: string;
  /** Streaming sessions holding server-kept state (the gauge forja_sessions_active). */
  sessions: number;
  /**
   * By the request metrics' `protocol` label: `v2` (REST), `grpc`, `websocket` (stream messages),
   * `openai`. A protocol the model has had no request over is absent.
   */
  protocols: Record<string, ProtocolTraffic>;
}

export interface StepRow {
  name: string;
  state: string;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  error?: string;
}

export interface JobRow {
  id: string;
  pipeline: string;
  state: string;
  attempts: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  progress?: number;
  error?: string;
  steps: StepRow[];
}

export interface JobsSection {
  counts: Record<string, number>;
  pipelines: string[];
  recent: JobRow[];
  failures: JobRow[];
  /** Jobs finished per second over the last interval. */
  finishedPerSec: number;
}

export interface GpuInfo {
  name: string;
  utilizationPercent?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
}

export interface MachineSection {
  hostname: string;
  cpus: number;
  loadavg: number[];
  /** This process, percent of one core, over the last interval. */
  processCpuPercent: number;
  rssBytes: number;
  heapUsedBytes: number;
  totalMemBytes: number;
  freeMemBytes: number;
  gpus: GpuInfo[];
}

export interface Banner {
  level: 'warning' | 'error';
  kind: 'fallback' | 'load-failed' | 'pipeline-failed';
  message: string;
}

export interface DashboardSnapshot {
  at: number;
  uptimeSeconds: number;
  serverVersion: string;
  models: ModelRow[];
  /** One row per model name of the repository, in the models table's order. */
  traffic: TrafficRow[];
  jobs?: JobsSection;
  machine: MachineSection;
  banners: Banner[];
}
