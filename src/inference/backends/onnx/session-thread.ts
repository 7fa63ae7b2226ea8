/** The main-thread handle of one session-worker: load, run (one at a time per thread), release. */
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import type { WireTensor } from './wire-tensor.js';
import type { BufferPool } from './buffer-pool.js';

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

  /** `pool`: where input buffers come from and go back to (one per model, shared by its threads). */
  constructor(private readonly pool: BufferPool) {
    this.worker = new Worker(WORKER_URL);
    this.worker.on('message', (message: { op: string; id?: number; outputs?: WireTensor[]; message?: string; inputs?: unknown; computeMs?: number; returned?: ArrayBuffer[] }) => {
      if (message.returned) this.pool.give(message.returned);
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
      const transfer: ArrayBuffer[] = [];
      const moved = feeds.map((t) => (Array.isArray(t.data) ? t : { ...t, data: this.movable(t.data, transferInputs, transfer) }));
      this.worker.postMessage({ op: 'run', id, feeds: moved, fetches }, transfer);
    }).finally(() => {
      this.busy--;
    });
  }

  /**
   * Every input travels moved, never cloned (a clone copies twice: into the message, out of it).
   * A buffer the caller gave up and the tensor owns whole, or one of the pool's, moves as it is;
   * anything else is first copied into a pool buffer. The worker sends the buffers back.
   */
  private movable(data: ArrayBufferView & { length: number }, given: boolean, transfer: ArrayBuffer[]): ArrayBufferView & { length: number } {
    const buffer = data.buffer;
    const whole = buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === buffer.byteLength;
    if (given && (whole || this.pool.owns(buffer))) {
      if (!transfer.includes(buffer as ArrayBuffer)) transfer.push(buffer as ArrayBuffer);
      return data;
    }
    const target = this.pool.take(data.byteLength);
    new Uint8Array(target, 0, data.byteLength).set(new Uint8Array(buffer, data.byteOffset, data.byteLength));
    transfer.push(target);
    const Typed = data.constructor as new (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView & { length: number };
    return new Typed(target, 0, data.length);
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
