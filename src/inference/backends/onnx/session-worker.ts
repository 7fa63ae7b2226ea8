/**
 * Runs one onnxruntime session in a worker thread. onnxruntime-node's run() executes on the calling
 * thread, so running it on the main thread would stop HTTP work for the whole compute time; here
 * the event loop keeps parsing and batching while the worker computes.
 *
 * Messages in:  { op: 'load', path, options } | { op: 'run', id, feeds, fetches } | { op: 'release' }
 * Messages out: { op: 'loaded', inputs, outputs } | { op: 'result', id, outputs, computeMs, returned (the inputs' buffers) } | { op: 'error', id?, message } | { op: 'released' }
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { WireTensor } from './wire-tensor.js';

let session: ort.InferenceSession | undefined;
const port = parentPort!;

port.on('message', async (message: { op: string; id?: number; path?: string; options?: ort.InferenceSession.SessionOptions; feeds?: WireTensor[]; fetches?: string[] }) => {
  try {
    if (message.op === 'load') {
      session = await ort.InferenceSession.create(message.path!, message.options);
      port.postMessage({ op: 'loaded', inputs: session.inputMetadata, outputs: session.outputMetadata });
    } else if (message.op === 'run') {
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of message.feeds!) feeds[t.name] = new ort.Tensor(t.type as ort.Tensor.Type, t.data as never, t.dims);
      const started = performance.now();
      const results = await session!.run(feeds, message.fetches!);
      const computeMs = performance.now() - started;
      const outputs: WireTensor[] = message.fetches!.map((name) => {
        const value = results[name];
        return { name, type: value.type, dims: [...value.dims], data: value.data as WireTensor['data'] };
      });
      // The inputs' buffers go back to the main thread's pool for the next run's inputs.
      const returned = transferables(message.feeds!);
      port.postMessage({ op: 'result', id: message.id, outputs, computeMs, returned }, [...transferables(outputs), ...returned]);
    } else if (message.op === 'release') {
      await session?.release();
      session = undefined;
      port.postMessage({ op: 'released' });
    }
  } catch (err) {
    port.postMessage({ op: 'error', id: message.id, message: err instanceof Error ? err.message : String(err) });
  }
});

function transferables(tensors: WireTensor[]): ArrayBuffer[] {
  const list: ArrayBuffer[] = [];
  for (const t of tensors) {
    if (!Array.isArray(t.data) && t.data.buffer instanceof ArrayBuffer && !list.includes(t.data.buffer)) list.push(t.data.buffer);
  }
  return list;
}
