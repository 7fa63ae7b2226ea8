/**
 * Input buffers that travel to a session thread and back. Every run's inputs are moved to the
 * worker (never cloned) and the worker moves them back with the outputs; the next run copies its
 * inputs into one of those instead of allocating. At a steady load this leaves no input-sized
 * allocation per run, and with it less garbage collection (V8 collects more often the more
 * ArrayBuffer memory is allocated). Capacities are rounded up to a power of two so that batches of
 * neighbouring sizes share buffers.
 */

/** Buffers kept per pool (a few runs' inputs), and their bytes at most. */
const KEEP = 8;
const KEEP_BYTES = 32 * 1024 * 1024;
/** Below this a fresh allocation is as cheap as the bookkeeping. */
const SMALLEST = 4096;

export class BufferPool {
  private free: ArrayBuffer[] = [];
  /** Buffers this pool handed out: those may be moved to a worker even when a view covers only part of one. */
  private readonly issued = new WeakSet<ArrayBuffer>();

  /** A buffer of at least `bytes`, reused when one is free. */
  take(bytes: number): ArrayBuffer {
    const capacity = capacityFor(bytes);
    const index = this.free.findIndex((b) => b.byteLength === capacity);
    if (index >= 0) return this.free.splice(index, 1)[0];
    const buffer = new ArrayBuffer(capacity);
    this.issued.add(buffer);
    return buffer;
  }

  owns(buffer: ArrayBufferLike): boolean {
    return buffer instanceof ArrayBuffer && this.issued.has(buffer);
  }

  /** Buffers given back after a run; the oldest are dropped beyond KEEP. */
  give(buffers: ArrayBuffer[]): void {
    for (const b of buffers) {
      if (b.byteLength < SMALLEST || b.byteLength !== capacityFor(b.byteLength)) continue;
      // A buffer that comes back from the worker is a new object: remember it as one of ours.
      this.issued.add(b);
      this.free.push(b);
    }
    let bytes = this.free.reduce((n, b) => n + b.byteLength, 0);
    while (this.free.length > KEEP || bytes > KEEP_BYTES) bytes -= this.free.shift()!.byteLength;
  }

  get size(): number {
    return this.free.length;
  }
}

function capacityFor(bytes: number): number {
  return bytes <= SMALLEST ? bytes : 2 ** Math.ceil(Math.log2(bytes));
}
