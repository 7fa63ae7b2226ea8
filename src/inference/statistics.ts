/**
 * Per model version statistics in the shape of Triton's statistics extension, collected by the
 * inference service and the batcher so every protocol (REST /stats, gRPC ModelStatistics) reports
 * the same numbers. Where each number comes from is written down in docs/statistics.md.
 * Durations are kept in nanoseconds as plain numbers: 2^53 ns is over 100 days of summed time.
 */

export interface StatisticDuration {
  count: number;
  ns: number;
}

export interface BatchStatistics {
  batch_size: number;
  compute_input: StatisticDuration;
  compute_infer: StatisticDuration;
  compute_output: StatisticDuration;
}

export interface ModelStatistics {
  name: string;
  version: string;
  /** Milliseconds since the epoch of the last request; 0 when there was none. */
  last_inference: number;
  /** Items (batch rows) inferred successfully. */
  inference_count: number;
  /** Model executions (batches run). */
  execution_count: number;
  inference_stats: {
    success: StatisticDuration;
    fail: StatisticDuration;
    queue: StatisticDuration;
    compute_input: StatisticDuration;
    compute_infer: StatisticDuration;
    compute_output: StatisticDuration;
  };
  batch_stats: BatchStatistics[];
}

/** What the batcher measured for one execution, in milliseconds. */
export interface ExecutionTimes {
  items: number;
  inputMs: number;
  inferMs: number;
  outputMs: number;
  queueMs: number[];
}

const zero = (): StatisticDuration => ({ count: 0, ns: 0 });
const add = (d: StatisticDuration, ms: number) => {
  d.count += 1;
  d.ns += Math.round(ms * 1e6);
};

/** The running totals of one model version. */
export class VersionStatistics {
  private readonly stats: ModelStatistics;
  private readonly batches = new Map<number, BatchStatistics>();

  constructor(name: string, version: string) {
    this.stats = {
      name, version, last_inference: 0, inference_count: 0, execution_count: 0,
      inference_stats: { success: zero(), fail: zero(), queue: zero(), compute_input: zero(), compute_infer: zero(), compute_output: zero() },
      batch_stats: [],
    };
  }

  /** One request answered (ok) or failed after its model was found, timed from arrival in the service. */
  request(ok: boolean, ms: number): void {
    add(ok ? this.stats.inference_stats.success : this.stats.inference_stats.fail, ms);
    this.stats.last_inference = Date.now();
  }

  /** One batch ran through the runtime. */
  execution(t: ExecutionTimes): void {
    const s = this.stats.inference_stats;
    this.stats.execution_count += 1;
    this.stats.inference_count += t.items;
    for (const q of t.queueMs) add(s.queue, q);
    // Triton counts compute_* once per request of the batch; each gets the batch's whole time.
    for (let i = 0; i < t.queueMs.length; i++) {
      add(s.compute_input, t.inputMs);
      add(s.compute_infer, t.inferMs);
      add(s.compute_output, t.outputMs);
    }
    let batch = this.batches.get(t.items);
    if (!batch) {
      batch = { batch_size: t.items, compute_input: zero(), compute_infer: zero(), compute_output: zero() };
      this.batches.set(t.items, batch);
    }
    add(batch.compute_input, t.inputMs);
    add(batch.compute_infer, t.inferMs);
    add(batch.compute_output, t.outputMs);
  }

  /** A deep copy, batch sizes ascending. */
  snapshot(): ModelStatistics {
    const copy = structuredClone(this.stats);
    copy.batch_stats = [...this.batches.values()].sort((a, b) => a.batch_size - b.batch_size).map((b) => structuredClone(b));
    return copy;
  }
}

/** Statistics of every model version that was asked for, kept for the life of the server. */
export class InferenceStatistics {
  private readonly versions = new Map<string, VersionStatistics>();

  of(name: string, version: string): VersionStatistics {
    const key = `${name}\u0000${version}`;
    let stats = this.versions.get(key);
    if (!stats) {
      stats = new VersionStatistics(name, version);
      this.versions.set(key, stats);
    }
    return stats;
  }
}
