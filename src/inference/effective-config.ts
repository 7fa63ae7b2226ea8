/**
 * The configuration a model version actually runs with, in the shape of Triton's model
 * configuration (model_config.proto, JSON field names), for GET /v2/models/{m}/config and gRPC
 * ModelConfig. Each value is model.yaml's when it sets one, else the server default; inputs and
 * outputs are read from the loaded model file. Forja's own settings, which Triton has no field
 * for, travel in `parameters` as strings (Triton's ModelParameter). See docs/statistics.md.
 */
import { isTensorModel, type Datatype, type LoadedModel, type ModelVersionSource, type TensorSpec } from './types.js';

/** The server-wide batching settings (models.*) a model.yaml may override. */
export interface BatchingDefaults {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  maxQueueSize: number;
  instances: number;
  timeoutMs: number;
}

export interface RuntimeDefaults {
  threads: number;
  execution: 'auto' | 'worker' | 'inline';
  executionProviders: 'auto' | string[];
}

export interface ConfigTensor {
  name: string;
  data_type: string;
  dims: number[];
}

export interface EffectiveConfig {
  name: string;
  platform: string;
  backend: string;
  max_batch_size: number;
  input: ConfigTensor[];
  output: ConfigTensor[];
  instance_group: Array<{ name: string; kind: 'KIND_CPU' | 'KIND_GPU'; count: number }>;
  dynamic_batching?: { preferred_batch_size: number[]; max_queue_delay_microseconds: number };
  parameters: Record<string, { string_value: string }>;
}

/** Triton spells BYTES as TYPE_STRING; every other name is TYPE_ + the v2 name. */
export function tritonDataType(datatype: Datatype): string {
  return datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${datatype}`;
}

export function effectiveConfig(source: ModelVersionSource, model: LoadedModel, batching: BatchingDefaults, runtime: RuntimeDefaults): EffectiveConfig {
  const c = source.config;
  const instances = c.instances ?? batching.instances;
  const params: Record<string, string | number | undefined> = {
    version: source.version,
    device: model.device,
    max_queue_size: c.max_queue_size ?? batching.maxQueueSize,
    timeout_ms: c.timeout_ms ?? batching.timeoutMs,
    keep_alive: c.keep_alive,
    load: c.load,
  };
  const base = {
    name: source.name,
    instance_group: [{ name: `${source.name}_0`, kind: model.device === 'gpu' ? 'KIND_GPU' as const : 'KIND_CPU' as const, count: instances }],
  };
  if (!isTensorModel(model)) {
    return { ...base, platform: 'llama.cpp_gguf', backend: source.format === 'external' ? 'external' : 'llama.cpp', max_batch_size: 0, input: [], output: [], parameters: strings(params) };
  }
  const configured = c.execution_providers ?? runtime.executionProviders;
  Object.assign(params, {
    threads: c.threads ?? runtime.threads,
    execution: c.execution ?? runtime.execution,
    execution_in_use: model.execution === 'inline' ? 'inline' : model.execution === undefined ? undefined : 'worker',
    execution_providers: Array.isArray(configured) ? configured.join(',') : configured,
    warmup: c.warmup === undefined ? undefined : String(c.warmup),
  });
  const maxBatch = model.batchable ? (c.max_batch_size ?? batching.maxBatchSize) : 0;
  // Triton leaves the batch dimension out of dims when the model batches.
  const dims = (spec: TensorSpec): ConfigTensor => ({ name: spec.name, data_type: tritonDataType(spec.datatype), dims: maxBatch > 0 ? spec.shape.slice(1) : spec.shape });
  return {
    ...base,
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    max_batch_size: maxBatch,
    input: model.inputs.map(dims),
    output: model.outputs.map(dims),
    ...(maxBatch > 0 ? { dynamic_batching: { preferred_batch_size: c.preferred_batch_sizes ?? [], max_queue_delay_microseconds: Math.round((c.max_queue_delay_ms ?? batching.maxQueueDelayMs) * 1000) } } : {}),
    parameters: strings(params),
  };
}

function strings(values: Record<string, string | number | undefined>): Record<string, { string_value: string }> {
  const out: Record<string, { string_value: string }> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key] = { string_value: String(value) };
  return out;
}
