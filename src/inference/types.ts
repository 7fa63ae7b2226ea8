/**
 * Shared types of the inference layer. Protocols speak these; backends implement LoadedModel.
 * Nothing here knows HTTP.
 */

/** Open Inference Protocol v2 datatypes. */
export const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type Datatype = (typeof DATATYPES)[number];

export type TensorData =
  | Float32Array | Float64Array | Uint16Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint32Array | BigUint64Array
  | string[];

/** A tensor in Forja's own terms: flat data, row-major shape. */
export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

/** One input or output as read from a model file; -1 marks a dynamic dimension. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}

export type ModelKind = 'onnx' | 'llm';
export type Device = 'cpu' | 'gpu';

/** What the model manager holds for a loaded model version; each backend implements it. */
export interface LoadedModel {
  readonly kind: ModelKind;
  readonly device: Device;
  /** Bytes this model is accounted for in the memory budget. */
  readonly memoryBytes: number;
  unload(): Promise<void>;
}

/** A loaded model that runs tensors (ONNX). */
export interface TensorModel extends LoadedModel {
  readonly kind: 'onnx';
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  /** True when every input and output has a dynamic first dimension. */
  readonly batchable: boolean;
  run(inputs: Tensor[], outputNames?: string[]): Promise<Tensor[]>;
}

/** One version of one model as found in the repository, ready to hand to a loader. */
export interface ModelVersionSource {
  name: string;
  version: string;
  /** Absolute path of the model file; '' for an external backend. */
  path: string;
  format: 'onnx' | 'gguf' | 'external';
  config: import('./model-config.js').ModelConfig;
}

/** Creates LoadedModels of one format; the manager is handed one loader per format. */
export interface ModelLoader {
  estimateMemory(source: ModelVersionSource): Promise<number>;
  load(source: ModelVersionSource, options: { preferGpu: boolean; signal?: AbortSignal }): Promise<LoadedModel>;
}
