/** The main-thread handle of one session-worker: load, run (one at a time per thread), release. */
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import type { WireTensor } from './wire-tensor.js';

const WORKER_URL = new URL('./session-worker.js', import.meta.url);

interface Loaded {
  inputs: ort.InferenceSession.ValueMetadata[];
  outputs: ort.InferenceSession.ValueMetadata[];
}

export class SessionThread {
  private readonly worker: Worker;
  private nextId = 1;
  private pending = new Map<number, { resolve: (outputs: WireTensor[]) => void; reject: (err: Error) => void }>();
  private waiter: { op: string; resolve: (value: unknown) => void; reject: (err: Error) => void } | undefined;
  /** Runs in flight on this thread. */
  busy = 0;
  /** Time the last run spent inside onnxruntime on the worker, without the thread hop. */
  lastComputeMs = 0;

  constructor() {
    this.worker = new Worker(WORKER_URL);
    this.worker.on('message', (message: { op: string; id?: number; outputs?: WireTensor[]; message?: string; inputs?: unknown; computeMs?: number }) => {
      if (message.op === 'result') {
        this.lastComputeMs = message.computeMs ?? 0;
        this.pending.get(message.id!)?.resolve(message.outputs!);
        this.pending.delete(message.id!);
      } else if (message.op === 'error' && message.id !== undefined) {
        this.pending.get(message.id)?.reject(new Error(message.message));
        this.pending.delete(message.id);
      } else if (message.op === 'error') {
        this.waiter?.reject(new Error(message.message));
        this.waiter = undefined;
      } else if (this.waiter && message.op === this.waiter.op) {
        this.waiter.resolve(message);
        this.waiter = undefined;
      }
    });
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', (code) => this.failAll(new Error(`session thread exited with code ${code}`)));
  }

  async load(path: string, options: ort.InferenceSession.SessionOptions): Promise<Loaded> {
    return (await this.request('loaded', { op: 'load', path, options })) as Loaded;
  }

  run(feeds: WireTensor[], fetches: string[], transferInputs = false): Promise<WireTensor[]> {
    const id = this.nextId++;
    this.busy++;
    return new Promise<WireTensor[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Inputs are copied unless the caller gave them up: moving a batch's buffers saves a copy and
      // the garbage it leaves. Only buffers a tensor owns whole are moved.
      const transfer = transferInputs ? feeds.flatMap((t) => (!Array.isArray(t.data) && t.data.buffer instanceof ArrayBuffer && t.data.byteOffset === 0 && t.data.byteLength === t.data.buffer.byteLength ? [t.data.buffer] : [])) : [];
      this.worker.postMessage({ op: 'run', id, feeds, fetches }, transfer);
    }).finally(() => {
      this.busy--;
    });
  }

  async release(): Promise<void> {
    try {
      await this.request('released', { op: 'release' });
    } finally {
      await this.worker.terminate();
    }
  }

  private request(op: string, message: object): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiter = { op, resolve, reject };
      this.worker.postMessage(message);
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.waiter?.reject(err);
    this.waiter = undefined;
  }
}
