/** Checks request tensors against a model's input specs; each failure names the input and what was expected. */
import type { Tensor, TensorModel } from './types.js';
import { errors } from '../errors.js';

export function validateInputs(model: TensorModel, modelName: string, inputs: Tensor[]): void {
  const seen = new Set<string>();
  for (const tensor of inputs) {
    if (seen.has(tensor.name)) throw errors.TENSOR_INVALID(`input '${tensor.name}' is given more than once`);
    seen.add(tensor.name);
    const spec = model.inputs.find((s) => s.name === tensor.name);
    if (!spec) throw errors.TENSOR_INVALID(`unknown input '${tensor.name}' for model '${modelName}'; expected ${model.inputs.map((s) => `'${s.name}'`).join(', ')}`);
    if (spec.datatype !== tensor.datatype) throw errors.TENSOR_DATATYPE(`input '${tensor.name}' has datatype ${tensor.datatype}, model '${modelName}' expects ${spec.datatype}`);
    if (spec.shape.length !== tensor.shape.length) throw errors.TENSOR_SHAPE(`input '${tensor.name}' has shape [${tensor.shape}], model '${modelName}' expects [${spec.shape}] (-1 is any size)`);
    spec.shape.forEach((dim, i) => {
      if (dim !== -1 && dim !== tensor.shape[i]) throw errors.TENSOR_SHAPE(`input '${tensor.name}' has shape [${tensor.shape}], model '${modelName}' expects [${spec.shape}] (-1 is any size)`);
    });
  }
  for (const spec of model.inputs) {
    if (!seen.has(spec.name)) throw errors.TENSOR_INVALID(`missing input '${spec.name}' for model '${modelName}'`);
  }
  // A batch of no rows has nothing to run, and batching could not split its outputs back.
  const empty = model.batchable ? inputs.find((t) => t.shape[0] === 0) : undefined;
  if (empty) throw errors.TENSOR_SHAPE(`input '${empty.name}' has shape [${empty.shape}]: the batch dimension (the first) of model '${modelName}' needs at least 1 row`);
  if (model.batchable && inputs.length > 1) {
    const rows = inputs[0].shape[0];
    const other = inputs.find((t) => t.shape[0] !== rows);
    if (other) throw errors.TENSOR_SHAPE(`inputs disagree on the batch dimension: '${inputs[0].name}' has ${rows}, '${other.name}' has ${other.shape[0]}`);
  }
}

export function validateOutputNames(model: TensorModel, modelName: string, names: string[] | undefined): void {
  if (!names) return;
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw errors.TENSOR_INVALID(`output '${name}' is requested more than once`);
    seen.add(name);
    if (!model.outputs.some((s) => s.name === name)) throw errors.TENSOR_INVALID(`unknown output '${name}' for model '${modelName}'; it has ${model.outputs.map((s) => `'${s.name}'`).join(', ')}`);
  }
}
