/** Maps between onnxruntime-node's type names and Open Inference Protocol v2 datatypes. */
import * as ort from 'onnxruntime-node';
import type { Datatype, Tensor, TensorData, TensorSpec } from '../../types.js';
import { datatypeOfOrt, ortTypeName } from '../../datatypes.js';
import { errors } from '../../../errors.js';

export function ortTypeOf(datatype: Datatype): ort.Tensor.Type {
  return ortTypeName(datatype) as ort.Tensor.Type;
}

export function v2Datatype(ortType: string): Datatype {
  const datatype = datatypeOfOrt(ortType);
  if (!datatype) throw errors.MODEL_UNAVAILABLE(`tensor type '${ortType}' is not supported`);
  return datatype;
}

/** Reads a session's input or output metadata; dynamic dimensions (named or unnamed) become -1. */
export function readSpecs(metadata: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] {
  return metadata.map((m) => {
    if (!m.isTensor) throw errors.MODEL_UNAVAILABLE(`'${m.name}' is not a tensor; only tensor inputs and outputs are supported`);
    return { name: m.name, datatype: v2Datatype(m.type), shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
  });
}

export function toOrtTensor(tensor: Tensor): ort.Tensor {
  const type = ortTypeOf(tensor.datatype);
  // onnxruntime wants bool tensors as Uint8Array, which is how Forja keeps BOOL data.
  return new ort.Tensor(type, tensor.data as never, tensor.shape);
}

export function fromOrtTensor(name: string, value: ort.Tensor): Tensor {
  return { name, datatype: v2Datatype(value.type), shape: [...value.dims], data: value.data as TensorData };
}
