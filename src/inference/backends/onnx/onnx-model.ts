/**
 * A loaded ONNX model version. Execution is either on worker threads (one session per instance, the
 * default: the event loop keeps serving while a batch computes) or inline on the main thread (no
 * thread hop: the lowest latency for models that compute in microseconds).
 */
import * as ort from 'onnxruntime-node';
import type { Logger } from 'pino';
import type { Device, Tensor, TensorData, TensorModel, TensorSpec } from '../../types.js';
import { ortTypeOf, readSpecs, toOrtTensor, v2Datatype } from './ort-types.js';
import type { SessionThread } from './session-thread.js';
import type { BufferPool } from './buffer-pool.js';
import type { WireTensor } from './wire-tensor.js';
import { runFailure } from './run-errors.js';

export type SessionRunner =
  | { kind: 'inline'; session: ort.InferenceSession }
  | { kind: 'threads'; threads: SessionThread[]; pool: BufferPool };

export class OnnxModel implements TensorModel {
  readonly kind = 'onnx' as const;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  readonly batchable: boolean;

  constructor(
    private readonly runner: SessionRunner,
    metadata: { inputs: readonly ort.InferenceSession.ValueMetadata[]; outputs: readonly ort.InferenceSession.ValueMetadata[] },
    readonly device: Device,
    readonly memoryBytes: number,
    /** Where run failures are logged (onnxruntime's own log output is switched off). */
    private readonly logger?: Logger,
  ) {
    this.inputs = readSpecs(metadata.inputs);
    this.outputs = readSpecs(metadata.outputs);
    const all = [...this.inputs, ...this.outputs];
    this.batchable = all.length > 0 && all.every((spec) => spec.shape.length > 0 && spec.shape[0] === -1);
  }

  /** Milliseconds the last run spent in onnxruntime itself (for a worker: without the thread hop). */
  lastComputeMs = 0;

  get execution(): 'inline' | 'threads' {
    return this.runner.kind;
  }

  /** On threads, a batch is built in a buffer that goes to the worker and back (buffer-pool.ts). */
  allocateInput(bytes: number): ArrayBuffer | undefined {
    return this.runner.kind === 'threads' ? this.runner.pool.take(bytes) : undefined;
  }

  async run(inputs: Tensor[], outputNames?: string[], options: { transferInputs?: boolean } = {}): Promise<Tensor[]> {
    // Shapes are read before the run: transferred inputs are unusable afterwards.
    const shapes = inputs.map((t) => ({ name: t.name, shape: t.shape }));
    try {
      return await this.runOnce(inputs, outputNames, options);
    } catch (err) {
      const failure = runFailure(err, shapes);
      if (failure.statusCode >= 500) this.logger?.error({ err }, 'onnxruntime run failed');
      else this.logger?.info({ code: failure.code, reason: failure.message }, 'onnxruntime cannot run the request');
      throw failure;
    }
  }

  private async runOnce(inputs: Tensor[], outputNames: string[] | undefined, options: { transferInputs?: boolean }): Promise<Tensor[]> {
    const names = outputNames ?? this.outputs.map((o) => o.name);
    if (this.runner.kind === 'inline') {
      const feeds: Record<string, ort.Tensor> = {};
      for (const tensor of inputs) feeds[tensor.name] = toOrtTensor(tensor);
      const started = performance.now();
      const results = await this.runner.session.run(feeds, names);
      this.lastComputeMs = performance.now() - started;
      return names.map((name) => ({ name, datatype: v2Datatype(results[name].type), shape: [...results[name].dims], data: results[name].data as TensorData }));
    }
    const thread = this.runner.threads.reduce((least, t) => (t.busy < least.busy ? t : least));
    const feeds: WireTensor[] = inputs.map((t) => ({ name: t.name, type: ortTypeOf(t.datatype), dims: t.shape, data: t.data }));
    const outputs = await thread.run(feeds, names, options.transferInputs ?? false);
    this.lastComputeMs = thread.lastComputeMs;
    return outputs.map((o) => ({ name: o.name, datatype: v2Datatype(o.type), shape: o.dims, data: o.data as TensorData }));
  }

  async unload(): Promise<void> {
    if (this.runner.kind === 'inline') await this.runner.session.release();
    else await Promise.all(this.runner.threads.map((t) => t.release()));
  }
}
