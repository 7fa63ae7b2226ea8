/**
 * Serving metrics. One prom-client Registry per server (tests start many servers in one process);
 * every name is prefixed forja_. Label children are cached by prom-client, so observing is cheap.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { GpuProbe } from './gpu-probe.js';

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'forja_' });
  registerGpuGauges(registry, new GpuProbe());
  // prom-client names three gauges *_total, which `promtool check metrics` rejects (only counters
  // may end in _total); forja_nodejs_active_resources{type} carries the same information.
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) registry.removeSingleMetric(`forja_nodejs_${name}`);
  return registry;
}

/** GPU memory and utilization per device; no series at all on a machine without nvidia-smi. */
function registerGpuGauges(registry: Registry, probe: GpuProbe): void {
  const gauge = (name: string, help: string, read: (g: ReturnType<GpuProbe['current']>[number]) => number | undefined) => new Gauge({
    name, help, labelNames: ['gpu'], registers: [registry],
    collect() {
      probe.current().forEach((g, index) => {
        const value = read(g);
        if (value !== undefined) this.labels(String(index)).set(value);
      });
    },
  });
  gauge('forja_gpu_memory_used_bytes', 'GPU memory in use, per device.', (g) => g.memoryUsedBytes);
  gauge('forja_gpu_memory_total_bytes', 'GPU memory in all, per device.', (g) => g.memoryTotalBytes);
  gauge('forja_gpu_utilization_ratio', 'GPU busy fraction, per device.', (g) => (g.utilizationPercent === undefined ? undefined : g.utilizationPercent / 100));
}

export class ServingMetrics {
  readonly requests: Counter<'protocol' | 'model' | 'version' | 'status'>;
  readonly requestDuration: Histogram<'protocol' | 'model' | 'version'>;
  readonly queueDuration: Histogram<'model' | 'version'>;
  readonly computeDuration: Histogram<'model' | 'version'>;
  readonly batchSize: Histogram<'model' | 'version'>;
  readonly queueDepth: Gauge<'model' | 'version'>;
  readonly httpInFlight: Gauge;
  readonly modelsLoaded: Gauge;
  readonly modelMemory: Gauge<'model' | 'version'>;
  readonly memoryBudget: Gauge;
  readonly modelLoads: Counter<'model' | 'version' | 'result'>;
  readonly modelUnloads: Counter<'model' | 'version' | 'reason'>;
  readonly fallbacks: Counter<'model' | 'version' | 'from' | 'to'>;
  readonly sessionsActive: Gauge<'model'>;
  readonly codecOffloads: Counter<'op'>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({ name: 'forja_inference_requests_total', help: 'Inference requests by model, version and HTTP status.', labelNames: ['protocol', 'model', 'version', 'status'], registers });
    this.requestDuration = new Histogram({ name: 'forja_inference_request_duration_seconds', help: 'End-to-end inference request time, body parse to reply.', labelNames: ['protocol', 'model', 'version'], buckets: LATENCY_BUCKETS, registers });
    this.queueDuration = new Histogram({ name: 'forja_inference_queue_duration_seconds', help: 'Time a request waited in the batcher queue.', labelNames: ['model', 'version'], buckets: LATENCY_BUCKETS, registers });
    this.computeDuration = new Histogram({ name: 'forja_inference_compute_duration_seconds', help: 'Runtime execution time of one batch.', labelNames: ['model', 'version'], buckets: LATENCY_BUCKETS, registers });
    this.batchSize = new Histogram({ name: 'forja_inference_batch_size', help: 'Items (first dimension) per executed batch.', labelNames: ['model', 'version'], buckets: BATCH_BUCKETS, registers });
    this.httpInFlight = new Gauge({ name: 'forja_http_requests_in_flight', help: 'HTTP requests between their headers and their last byte, open event streams and WebSocket sessions included.', registers });
    this.queueDepth = new Gauge({ name: 'forja_inference_queue_depth', help: 'Requests waiting in the batcher queue.', labelNames: ['model', 'version'], registers });
    this.modelsLoaded = new Gauge({ name: 'forja_models_loaded', help: 'Model versions currently loaded.', registers });
    this.modelMemory = new Gauge({ name: 'forja_model_memory_bytes', help: 'Memory accounted to each loaded model version.', labelNames: ['model', 'version'], registers });
    this.memoryBudget = new Gauge({ name: 'forja_model_memory_budget_bytes', help: 'Memory budget for all loaded models.', registers });
    this.modelLoads = new Counter({ name: 'forja_model_loads_total', help: 'Model load attempts by result.', labelNames: ['model', 'version', 'result'], registers });
    this.modelUnloads = new Counter({ name: 'forja_model_unloads_total', help: 'Model unloads by reason (evicted, idle, request, shutdown).', labelNames: ['model', 'version', 'reason'], registers });
    this.sessionsActive = new Gauge({ name: 'forja_sessions_active', help: 'Sessions holding server-kept state, per model: WebSocket streams and open REST/gRPC sequences.', labelNames: ['model'], registers });
    this.codecOffloads = new Counter({ name: 'forja_codec_offloads_total', help: 'Large v2 bodies and frames decoded (op=decode) and large answers encoded (op=encode) on codec worker threads.', labelNames: ['op'], registers });
    this.fallbacks = new Counter({ name: 'forja_model_fallbacks_total', help: 'Loads that fell back from one device to another.', labelNames: ['model', 'version', 'from', 'to'], registers });
  }
}
