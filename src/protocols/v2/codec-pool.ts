/**
 * Large infer bodies are decoded and encoded on worker threads: JSON.parse of tens of megabytes, the
 * walk over millions of values and JSON.stringify of large outputs would each stop the event loop
 * (and with it the health probes) for as long as they run. Small bodies stay on the main thread,
 * where the hop would cost more than the work.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ForjaError } from '../../errors.js';
import type { Tensor } from '../../inference/types.js';
import { decodeInferRequest, encodeInferResponse, type DecodedInfer, type EncodedResponse } from './infer-codec.js';
import { movable, ownedBuffers } from './transfer.js';

/** Bodies from this size are decoded on a worker (JSON.parse alone takes milliseconds from here). */
export const OFF_THREAD_BODY_BYTES = 256 * 1024;
/** Responses with this many output elements are encoded on a worker. */
export const OFF_THREAD_OUTPUT_ELEMENTS = 64 * 1024;

const WORKER_URL = new URL('./codec-worker.js', import.meta.url);

interface Pending { resolve: (value: unknown) => void; reject: (err: Error) => void }

class CodecThread {
  readonly worker = new Worker(WORKER_URL);
  readonly pending = new Map<number, Pending>();

  constructor(onExit: () => void) {
    // Idle codec threads must not keep the process alive.
    this.worker.unref();
    this.worker.on('message', (m: { id: number; ok?: unknown; error?: { code: string; statusCode: number; message: string; headers: Record<string, string> } }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.error) p.reject(new ForjaError(m.error.code, m.error.statusCode, m.error.message, { headers: m.error.headers }));
      else p.resolve(m.ok);
    });
    const fail = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      onExit();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`codec thread exited with code ${code}`)));
  }
}

export interface CodecPoolOptions {
  /** Threads at most; default: the cores but one, between 1 and 4. */
  size?: number;
  /** Told of each body or answer handed to a thread (the metric forja_codec_offloads_total). */
  onOffload?: (op: 'decode' | 'encode') => void;
}

/** One pool per server: the REST infer route and the WebSocket stream share its threads. */
export class CodecPool {
  private threads: CodecThread[] = [];
  private nextId = 1;
  private readonly size: number;
  private readonly onOffload: (op: 'decode' | 'encode') => void;

  constructor(options: CodecPoolOptions = {}) {
    this.size = options.size ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    this.onOffload = options.onOffload ?? (() => undefined);
  }

  /**
   * `ownsBuffer`: nothing else uses or rewrites `raw.buffer` (an infer body as the route read it), so
   * binary tensors may view it instead of copying, and on a worker the whole buffer moves there and
   * back with the tensors that view it, keeping their alignment.
   */
  async decode(raw: Buffer, headerLength: string | string[] | undefined, { ownsBuffer = false } = {}): Promise<DecodedInfer> {
    if (raw.length < OFF_THREAD_BODY_BYTES) return decodeInferRequest(raw, headerLength, { viewBinary: ownsBuffer });
    const whole = ownsBuffer && raw.buffer instanceof ArrayBuffer;
    const bytes = whole ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) : movable(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
    this.onOffload('decode');
    return this.send<DecodedInfer>({ op: 'decode', bytes, headerLength, viewBinary: ownsBuffer }, whole ? [raw.buffer as ArrayBuffer] : ownedBuffers([bytes]));
  }

  /** The outputs are given up: their buffers may be moved to the worker. */
  async encode(model: string, version: string, requestId: string | undefined, outputs: Tensor[], binaryOutputs: Set<string>): Promise<EncodedResponse> {
    const elements = outputs.reduce((n, t) => n + t.data.length, 0);
    if (elements < OFF_THREAD_OUTPUT_ELEMENTS) return encodeInferResponse(model, version, requestId, outputs, binaryOutputs);
    const moved = outputs.map((t) => ({ ...t, data: movable(t.data) }));
    this.onOffload('encode');
    const encoded = await this.send<{ payload: Uint8Array; headerLength?: number }>(
      { op: 'encode', model, version, requestId, outputs: moved, binaryOutputs },
      ownedBuffers(moved.map((t) => t.data)),
    );
    const { payload } = encoded;
    return { ...encoded, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength) };
  }

  async close(): Promise<void> {
    const threads = this.threads;
    this.threads = [];
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private send<T>(message: object, transfer: ArrayBuffer[]): Promise<T> {
    const thread = this.pick();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      thread.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      thread.worker.ref();
      thread.worker.postMessage({ id, ...message }, transfer);
    });
  }

  private pick(): CodecThread {
    const idle = this.threads.find((t) => t.pending.size === 0);
    if (idle) return idle;
    if (this.threads.length < this.size) {
      const thread: CodecThread = new CodecThread(() => { this.threads = this.threads.filter((t) => t !== thread); });
      this.threads.push(thread);
      return thread;
    }
    return this.threads.reduce((least, t) => (t.pending.size < least.pending.size ? t : least));
  }
}
