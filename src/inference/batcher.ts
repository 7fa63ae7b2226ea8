/**
 * Dynamic batcher for one model version (the scheduler between requests and the runtime).
 *
 * Requests join a bounded queue. Whenever an execution slot (instance) is free, the oldest
 * request's group is cut into a batch: every waiting request with the same signature (same
 * datatypes, same non-batch dimensions, same requested outputs), up to max_batch_size items along
 * dimension 0. With max_queue_delay_ms > 0 a partial batch waits that long for company; with 0 it
 * leaves at once, and batches form naturally while every instance is busy. Inputs are
 * concatenated on dimension 0, run once, and outputs split back by each request's item count.
 * A model that is not batchable runs one request per execution, `instances` at a time.
 */
import type { Tensor, TensorData, TensorModel } from './types.js';
import { errors, ForjaError } from '../errors.js';

export interface BatcherOptions {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  preferredBatchSizes?: number[];
  maxQueueSize: number;
  instances: number;
  /**
   * Called after each execution with what happened, for metrics and statistics: computeMs is input
   * preparation plus the run; inputMs, inferMs and outputMs split it into concatenating the inputs,
   * the runtime call and splitting the outputs.
   */
  onBatch?: (info: { items: number; requests: number; computeMs: number; queueMs: number[]; inputMs: number; inferMs: number; outputMs: number }) => void;
  onQueueDepth?: (depth: number) => void;
}

export interface BatchRequest {
  inputs: Tensor[];
  outputs?: string[];
  /** Absolute time (performance.now()) after which a waiting request fails with 503. */
  deadline: number;
  /** Background work (pipeline steps) queues behind every waiting foreground (HTTP) request. */
  background?: boolean;
  /** The caller will not read its input buffers again, so they may be moved to a worker. */
  disposable?: boolean;
}

interface Pending {
  request: BatchRequest;
  items: number;
  signature: string;
  enqueuedAt: number;
  resolve: (outputs: Tensor[]) => void;
  reject: (err: unknown) => void;
}

export class DynamicBatcher {
  private queue: Pending[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly model: TensorModel, private readonly options: BatcherOptions) {}

  get depth(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.running + this.queue.length;
  }

  enqueue(request: BatchRequest): Promise<Tensor[]> {
    if (this.stopped) return Promise.reject(errors.SHUTTING_DOWN('the model is being unloaded'));
    if (this.queue.length >= this.options.maxQueueSize) {
      return Promise.reject(errors.QUEUE_FULL(`the queue of this model is full (${this.options.maxQueueSize} waiting); retry shortly`, { headers: { 'retry-after': '1' } }));
    }
    const items = this.model.batchable ? (request.inputs[0]?.shape[0] ?? 1) : 1;
    if (this.model.batchable && this.options.maxBatchSize > 0 && items > this.options.maxBatchSize) {
      return Promise.reject(errors.TENSOR_SHAPE(`batch of ${items} exceeds this model's max_batch_size ${this.options.maxBatchSize}`));
    }
    return new Promise<Tensor[]>((resolve, reject) => {
      const pending = { request, items, signature: signatureOf(request), enqueuedAt: performance.now(), resolve, reject };
      const firstBackground = request.background ? -1 : this.queue.findIndex((p) => p.request.background);
      if (firstBackground === -1) this.queue.push(pending);
      else this.queue.splice(firstBackground, 0, pending);
      this.options.onQueueDepth?.(this.queue.length);
      this.schedule();
      this.armDeadline();
    });
  }

  /** Stops taking requests; resolves once queued and running ones are done. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    while (this.running < this.options.instances && this.queue.length > 0) {
      const batch = this.cutBatch();
      if (!batch) return;
      void this.execute(batch);
    }
  }

  /** Takes the next batch off the queue, or arms the delay timer and returns undefined. */
  private cutBatch(): Pending[] | undefined {
    const head = this.queue[0];
    const limit = this.model.batchable && this.options.maxBatchSize > 0 ? this.options.maxBatchSize : 1;
    if (limit === 1 || !this.model.batchable) return this.queue.splice(0, 1);
    const group: number[] = [];
    let items = 0;
    for (let i = 0; i < this.queue.length && items < limit; i++) {
      const p = this.queue[i];
      if (p.signature !== head.signature || items + p.items > limit) continue;
      group.push(i);
      items += p.items;
    }
    const waited = performance.now() - head.enqueuedAt;
    const delay = this.options.maxQueueDelayMs;
    const full = items >= limit || (this.options.preferredBatchSizes?.includes(items) ?? false);
    if (!full && delay > 0 && waited < delay) {
      if (!this.timer) this.timer = setTimeout(() => { this.timer = undefined; this.schedule(); }, delay - waited);
      return undefined;
    }
    const batch = group.map((i) => this.queue[i]);
    const taken = new Set(group);
    this.queue = this.queue.filter((_, i) => !taken.has(i));
    this.options.onQueueDepth?.(this.queue.length);
    return batch;
  }

  private async execute(batch: Pending[]): Promise<void> {
    this.running++;
    const startedAt = performance.now();
    try {
      const inputs = batch.length === 1 ? batch[0].request.inputs : concatInputs(batch.map((p) => p.request.inputs), (bytes) => this.model.allocateInput?.(bytes));
      const inputsReady = performance.now();
      // A concatenated batch is the batcher's own; a single request's inputs only if it gave them up.
      const transferInputs = batch.length > 1 || batch[0].request.disposable === true;
      const outputs = await this.model.run(inputs, batch[0].request.outputs, { transferInputs });
      const ranAt = performance.now();
      const items = batch.reduce((sum, p) => sum + p.items, 0);
      const parts = batch.length === 1 ? [outputs] : splitOutputs(outputs, batch.map((p) => p.items), items);
      this.options.onBatch?.({
        items, requests: batch.length, computeMs: ranAt - startedAt, queueMs: batch.map((p) => startedAt - p.enqueuedAt),
        inputMs: inputsReady - startedAt, inferMs: ranAt - inputsReady, outputMs: performance.now() - ranAt,
      });
      batch.forEach((p, i) => p.resolve(parts[i]));
    } catch (err) {
      const failure = err instanceof ForjaError ? err : errors.INFERENCE_FAILED(`the runtime failed: ${(err as Error).message ?? err}`, { cause: err });
      for (const p of batch) p.reject(failure);
    } finally {
      this.running--;
      this.schedule();
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Fails requests that waited past their deadline; one timer for the earliest deadline. */
  private armDeadline(): void {
    if (this.deadlineTimer || this.queue.length === 0) return;
    const earliest = Math.min(...this.queue.map((p) => p.request.deadline));
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = undefined;
      const now = performance.now();
      const expired = this.queue.filter((p) => p.request.deadline <= now);
      if (expired.length > 0) {
        this.queue = this.queue.filter((p) => p.request.deadline > now);
        this.options.onQueueDepth?.(this.queue.length);
        for (const p of expired) p.reject(errors.REQUEST_TIMEOUT(`the request waited ${Math.round(now - p.enqueuedAt)} ms in the queue and timed out`));
      }
      this.armDeadline();
    }, Math.max(0, earliest - performance.now()));
    this.deadlineTimer.unref();
  }
}

function signatureOf(request: BatchRequest): string {
  let s = request.outputs ? request.outputs.join(',') : '*';
  for (const t of request.inputs) s += `|${t.name}:${t.datatype}:${t.shape.slice(1).join('x')}`;
  return s;
}

type Allocate = (bytes: number) => ArrayBuffer | undefined;

function concatInputs(requests: Tensor[][], allocate: Allocate): Tensor[] {
  return requests[0].map((first, index) => {
    const parts = requests.map((inputs) => inputs.find((t) => t.name === first.name) ?? inputs[index]);
    const batch = parts.reduce((sum, t) => sum + t.shape[0], 0);
    return { name: first.name, datatype: first.datatype, shape: [batch, ...first.shape.slice(1)], data: concatData(parts.map((t) => t.data), allocate) };
  });
}

function concatData(parts: TensorData[], allocate: Allocate): TensorData {
  if (Array.isArray(parts[0])) return (parts as string[][]).flat();
  const total = parts.reduce((sum, p) => sum + p.length, 0);
  const Ctor = (parts[0] as Float32Array).constructor as { new (n: number): Float32Array; new (buffer: ArrayBuffer, offset: number, length: number): Float32Array; BYTES_PER_ELEMENT: number };
  // The backend's own buffer when it keeps one (reused across runs), else a fresh array.
  const buffer = allocate(total * Ctor.BYTES_PER_ELEMENT);
  const out = buffer ? new Ctor(buffer, 0, total) : new Ctor(total);
  let offset = 0;
  for (const p of parts as Float32Array[]) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function splitOutputs(outputs: Tensor[], sizes: number[], total: number): Tensor[][] {
  const result: Tensor[][] = sizes.map(() => []);
  for (const out of outputs) {
    if (out.shape[0] !== total) throw errors.INFERENCE_FAILED(`output '${out.name}' has ${out.shape[0]} rows for a batch of ${total}; the model is not batchable along dimension 0`);
    const rowSize = out.shape.slice(1).reduce((a, b) => a * b, 1);
    let row = 0;
    sizes.forEach((n, i) => {
      const data = out.data.slice(row * rowSize, (row + n) * rowSize) as TensorData;
      result[i].push({ name: out.name, datatype: out.datatype, shape: [n, ...out.shape.slice(1)], data });
      row += n;
    });
  }
  return result;
}
