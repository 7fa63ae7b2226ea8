/**
 * Streaming sessions with server-kept state, for models whose model.yaml has `sequence:` (Triton's
 * sequence batcher with implicit state). A session holds its state tensors (zeros at the start)
 * between steps; the client sends only the other inputs. Steps of many sessions that wait at the
 * same time run as one batch: each input is stacked along its batch axis (the state's own
 * `batch_axis`, axis 0 otherwise), scalars equal across the steps are passed once, and the
 * outputs are split back the same way, the state outputs becoming each session's next state.
 * A session is freed at close or after `idle_timeout_s` without a step. A WebSocket owns one
 * session (protocols/v2/stream.ts); over REST and gRPC a session is a sequence named by the
 * client's sequence_id (sequences.ts). Both kinds share one batcher per model version.
 */
import type { ModelManager, Lease } from './model-manager.js';
import { isTensorModel, type Tensor, type TensorModel, type TensorSpec } from './types.js';
import type { ModelConfig } from './model-config.js';
import type { ServingMetrics } from '../telemetry/metrics.js';
import type { InferenceStatistics } from './statistics.js';
import { validateInputs, validateOutputNames } from './input-validation.js';
import { concatAlong, splitAlong } from './axis-tensors.js';
import { errors, ForjaError } from '../errors.js';

type SequenceConfig = NonNullable<ModelConfig['sequence']>;

export interface StepResult {
  version: string;
  outputs: Tensor[];
}

interface Step {
  session: Session;
  inputs: Tensor[];
  rows: number;
  signature: string;
  enqueuedAt: number;
  resolve: (outputs: Tensor[]) => void;
  reject: (err: unknown) => void;
}

/** One client's sequence: its model lease and its state. */
export class Session {
  state: Map<string, Tensor> | undefined;
  closed = false;
  busy: Promise<unknown> = Promise.resolve();
  idleTimer: NodeJS.Timeout | undefined;

  constructor(readonly model: string, readonly version: string, readonly lease: Lease<TensorModel>, readonly sequence: SequenceConfig, readonly onIdle: () => void) {
    this.touch();
  }

  touch(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(this.onIdle, this.sequence.idle_timeout_s * 1000);
    this.idleTimer.unref();
  }
}

/** Runs the waiting steps of one model version together, one batch at a time. */
class SequenceBatcher {
  private queue: Step[] = [];
  private running = false;

  constructor(private readonly model: TensorModel, private readonly sequence: SequenceConfig, private readonly maxBatch: number, private readonly record: (items: number, times: { inputMs: number; inferMs: number; outputMs: number; queueMs: number[] }) => void) {}

  enqueue(step: Omit<Step, 'resolve' | 'reject' | 'enqueuedAt'>): Promise<Tensor[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...step, enqueuedAt: performance.now(), resolve, reject });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // Let the steps that arrive in the same turn of the event loop join this batch.
    await new Promise((r) => setImmediate(r));
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0];
        const batch: Step[] = [];
        let rows = 0;
        this.queue = this.queue.filter((s) => {
          if (s.signature !== head.signature || rows + s.rows > this.maxBatch) return true;
          batch.push(s);
          rows += s.rows;
          return false;
        });
        await this.run(batch, rows);
      }
    } finally {
      this.running = false;
    }
  }

  private axisOf(name: string, isOutput: boolean): number {
    const s = this.sequence.state.find((st) => (isOutput ? st.output : st.input) === name);
    return s ? s.batch_axis : 0;
  }

  private async run(batch: Step[], rows: number): Promise<void> {
    const started = performance.now();
    try {
      const inputs = batch.length === 1 ? batch[0].inputs : batch[0].inputs.map((first) => {
        const parts = batch.map((s) => s.inputs.find((t) => t.name === first.name)!);
        // A scalar (sr) is the same for every step of the batch (it is part of the signature): passed once.
        return first.shape.length === 0 ? first : concatAlong(parts, this.axisOf(first.name, false));
      });
      const prepared = performance.now();
      const outputs = await this.model.run(inputs);
      const ran = performance.now();
      const sizes = batch.map((s) => s.rows);
      const perStep: Tensor[][] = batch.map(() => []);
      for (const out of outputs) {
        const parts = batch.length === 1 ? [out] : splitAlong(out, this.axisOf(out.name, true), sizes);
        parts.forEach((p, i) => perStep[i].push(p));
      }
      this.record(rows, { inputMs: prepared - started, inferMs: ran - prepared, outputMs: performance.now() - ran, queueMs: batch.map((s) => started - s.enqueuedAt) });
      batch.forEach((s, i) => s.resolve(perStep[i]));
    } catch (err) {
      const failure = err instanceof ForjaError ? err : errors.INFERENCE_FAILED(`the runtime failed: ${(err as Error).message ?? err}`, { cause: err });
      for (const s of batch) s.reject(failure);
    }
  }
}

export class SessionService {
  private readonly batchers = new WeakMap<TensorModel, SequenceBatcher>();
  private readonly sessions = new Set<Session>();

  constructor(private readonly manager: ModelManager, private readonly metrics: ServingMetrics, private readonly statistics: InferenceStatistics, private readonly maxBatchSize: () => number) {}

  /** Whether the model keeps state between steps (its model.yaml has `sequence:`). */
  isStateful(model: string): boolean {
    return this.manager.getModel(model).config.sequence !== undefined;
  }

  get active(): number {
    return this.sessions.size;
  }

  /** Opens a session: takes a lease on the version (so it stays loaded) until close. */
  async open(model: string, version?: string, onIdle?: (session: Session) => void): Promise<Session> {
    const acquired = await this.manager.acquire(model, version);
    const sequence = acquired.source.config.sequence;
    const loaded = acquired.model;
    if (!isTensorModel(loaded) || !sequence) {
      acquired.release();
      throw errors.REQUEST_INVALID(`model '${model}' keeps no state between requests (its model.yaml has no sequence:); send infer requests instead`);
    }
    const lease: Lease<TensorModel> = { ...acquired, model: loaded };
    for (const s of sequence.state) {
      if (!lease.model.inputs.some((i) => i.name === s.input) || !lease.model.outputs.some((o) => o.name === s.output)) {
        lease.release();
        throw errors.MODEL_CONFIG_INVALID(`model '${model}': sequence state ${s.input} -> ${s.output} does not name an input and an output of the model`);
      }
    }
    const session: Session = new Session(model, lease.source.version, lease, sequence, () => {
      onIdle?.(session);
      this.close(session);
    });
    this.sessions.add(session);
    this.metrics.sessionsActive.labels(model).set(this.countFor(model));
    return session;
  }

  /** Frees the session's state and lease; safe to call twice. */
  close(session: Session): void {
    if (session.closed) return;
    session.closed = true;
    clearTimeout(session.idleTimer);
    session.state = undefined;
    this.sessions.delete(session);
    this.metrics.sessionsActive.labels(session.model).set(this.countFor(session.model));
    // The lease is released once a step in flight is done with the model.
    void session.busy.finally(() => session.lease.release());
  }

  closeAll(): void {
    for (const s of [...this.sessions]) this.close(s);
  }

  /**
   * One step: the client's inputs plus the session's state, batched with other sessions' steps.
   * Steps of one session run in the order step() was called; `reset` starts this one from zeros.
   */
  step(session: Session, inputs: Tensor[], outputNames?: string[], options: { reset?: boolean } = {}): Promise<StepResult> {
    const run = session.busy.then(() => {
      if (options.reset) session.state = undefined;
      return this.runStep(session, inputs, outputNames);
    });
    session.busy = run.catch(() => undefined);
    return run;
  }

  private async runStep(session: Session, inputs: Tensor[], outputNames?: string[]): Promise<StepResult> {
    const arrived = performance.now();
    if (session.closed) throw errors.REQUEST_INVALID('the session is closed');
    session.touch();
    const stats = this.statistics.of(session.model, session.version);
    let ok = false;
    try {
      const model = session.lease.model;
      const { state } = session.sequence;
      const sent = inputs.find((t) => state.some((s) => s.input === t.name));
      if (sent) throw errors.TENSOR_INVALID(`input '${sent.name}' is the model's state, which the server keeps for the session; leave it out`);
      const rows = inputs.find((t) => t.shape.length > 0)?.shape[0] ?? 1;
      if (!session.state) session.state = new Map(state.map((s) => [s.input, zeros(model.inputs.find((i) => i.name === s.input)!, s.batch_axis, rows)]));
      const full = [...inputs, ...session.state.values()];
      validateInputs(model, session.model, full);
      validateOutputNames(model, session.model, outputNames);
      for (const t of session.state.values()) {
        if (t.shape[session.sequence.state.find((s) => s.input === t.name)!.batch_axis] !== rows) throw errors.TENSOR_SHAPE(`the session started with batch ${t.shape[0]}; every step of a session has the same batch size`);
      }
      const signature = full.map((t) => `${t.name}:${t.datatype}:${t.shape.length === 0 ? `=${String(t.data[0])}` : t.shape.filter((_, i) => i !== this.axis(session, t.name)).join('x')}`).join('|');
      const batcher = this.batcherFor(session);
      const outputs = await batcher.enqueue({ session, inputs: full, rows, signature });
      if (!session.closed) for (const s of state) session.state.set(s.input, { ...outputs.find((o) => o.name === s.output)!, name: s.input });
      ok = true;
      const wanted = outputNames ?? model.outputs.filter((o) => !state.some((s) => s.output === o.name)).map((o) => o.name);
      return { version: session.version, outputs: outputs.filter((o) => wanted.includes(o.name)) };
    } finally {
      stats.request(ok, performance.now() - arrived);
    }
  }

  private axis(session: Session, input: string): number {
    return session.sequence.state.find((s) => s.input === input)?.batch_axis ?? 0;
  }

  private batcherFor(session: Session): SequenceBatcher {
    const model = session.lease.model;
    let batcher = this.batchers.get(model);
    if (!batcher) {
      const stats = this.statistics.of(session.model, session.version);
      const batchSize = this.metrics.batchSize.labels(session.model, session.version);
      const maxBatch = session.lease.source.config.max_batch_size || this.maxBatchSize() || 1;
      batcher = new SequenceBatcher(model, session.sequence, maxBatch, (items, t) => {
        batchSize.observe(items);
        stats.execution({ items, ...t });
      });
      this.batchers.set(model, batcher);
    }
    return batcher;
  }

  private countFor(model: string): number {
    let n = 0;
    for (const s of this.sessions) if (s.model === model) n++;
    return n;
  }
}

function zeros(spec: TensorSpec, batchAxis: number, rows: number): Tensor {
  const shape = spec.shape.map((d, i) => (i === batchAxis ? rows : d === -1 ? 1 : d));
  const n = shape.reduce((a, b) => a * b, 1);
  const data = spec.datatype === 'FP32' ? new Float32Array(n) : spec.datatype === 'FP64' ? new Float64Array(n) : spec.datatype === 'INT64' ? new BigInt64Array(n) : new Float32Array(n);
  return { name: spec.name, datatype: spec.datatype, shape, data };
}
