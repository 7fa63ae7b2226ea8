/**
 * Warm-up: runs a model once (or a few times) on zero inputs of batch 1 before it takes traffic,
 * and times it. The timing decides where an `execution: auto` model runs: one that computes in well
 * under a millisecond is cheaper on the main thread than a hop to a worker and back.
 */
import type { Datatype, Tensor, TensorData, TensorModel, TensorSpec } from '../../types.js';
import { DATATYPE_INFO } from '../../datatypes.js';
import { median } from '../../../telemetry/stats.js';

/** Compute time below which `auto` runs a model inline on the main thread. */
export const INLINE_BELOW_MS = 0.3;

/** Zero inputs of batch 1, or undefined when a non-batch dimension is dynamic (its size is unknown). */
export function zeroInputs(specs: TensorSpec[]): Tensor[] | undefined {
  const tensors: Tensor[] = [];
  for (const spec of specs) {
    if (spec.shape.some((d, i) => d === -1 && i > 0)) return undefined;
    const shape = spec.shape.map((d) => (d === -1 ? 1 : d));
    tensors.push({ name: spec.name, datatype: spec.datatype, shape, data: zeros(spec.datatype, shape.reduce((a, b) => a * b, 1)) });
  }
  return tensors;
}

function zeros(datatype: Datatype, n: number): TensorData {
  return datatype === 'BYTES' ? new Array<string>(n).fill('') : new DATATYPE_INFO[datatype].array(n);
}

/**
 * Median milliseconds of `runs` executions on zero inputs, or undefined when inputs cannot be made.
 * A model that reports its own compute time (lastComputeMs) is timed by that, so a worker's thread
 * hop does not count as compute.
 */
export async function timeWarmup(model: TensorModel & { lastComputeMs?: number }, runs = 5): Promise<number | undefined> {
  const inputs = zeroInputs(model.inputs);
  if (!inputs) return undefined;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await model.run(inputs.map((t) => ({ ...t, data: t.data.slice() as TensorData })));
    times.push(model.lastComputeMs ?? performance.now() - t0);
  }
  return median(times);
}
