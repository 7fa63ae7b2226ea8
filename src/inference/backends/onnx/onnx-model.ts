/** A loaded ONNX model version: one onnxruntime session, its tensor specs, and run(). */
import type * as ort from 'onnxruntime-node';
import type { Device, Tensor, TensorModel, TensorSpec } from '../../types.js';
import { fromOrtTensor, readSpecs, toOrtTensor } from './ort-types.js';

export class OnnxModel implements TensorModel {
  readonly kind = 'onnx' as const;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  readonly batchable: boolean;

  constructor(private readonly session: ort.InferenceSession, readonly device: Device, readonly memoryBytes: number) {
    this.inputs = readSpecs(session.inputMetadata);
    this.outputs = readSpecs(session.outputMetadata);
    const all = [...this.inputs, ...this.outputs];
    this.batchable = all.length > 0 && all.every((spec) => spec.shape.length > 0 && spec.shape[0] === -1);
  }

  async run(inputs: Tensor[], outputNames?: string[]): Promise<Tensor[]> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const tensor of inputs) feeds[tensor.name] = toOrtTensor(tensor);
    const names = outputNames ?? this.outputs.map((o) => o.name);
    const results = await this.session.run(feeds, names);
    return names.map((name) => fromOrtTensor(name, results[name]));
  }

  async unload(): Promise<void> {
    await this.session.release();
  }
}
