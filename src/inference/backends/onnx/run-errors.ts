/**
 * Classifies an onnxruntime run failure. A model that loaded fails a run because of what it was given
 * (a zero-sized or mismatched dimension reaching a Reshape or a Conv, an index out of range): those
 * are the client's mistake and become 400 with onnxruntime's reason. Anything else (allocation
 * failure, a dead session thread) stays a 500.
 */
import { errors, ForjaError } from '../../../errors.js';
import type { Tensor } from '../../types.js';

type Given = Pick<Tensor, 'name' | 'shape'>;

// "Non-zero status code returned while running Reshape node. Name:'Reshape_60' Status Message: <reason>"
const KERNEL_FAILURE = /Non-zero status code returned while running (\S+) node\. Name:'([^']*)' Status Message: ([\s\S]*)/;
// onnxruntime prefixes some reasons with the C++ source location and function, which help no client.
const SOURCE_LOCATION = /^\S+\.(?:h|cc|cpp):\d+ /;
const SHAPE_WORDS = /shape|dimension|dims|broadcast|reshape|size/i;
const VALUE_WORDS = /out of (?:data )?bounds|out of range|indices/i;
const RESOURCE_WORDS = /allocat|bad_alloc|out of memory/i;
// onnxruntime's own check of the feeds against the graph's declared inputs.
const INPUT_CHECK = /^(?:Got invalid dimensions for input|Invalid rank for input)/;

export function runFailure(err: unknown, inputs: Given[]): ForjaError {
  if (err instanceof ForjaError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const given = inputs.map((t) => `'${t.name}' [${t.shape}]`).join(', ');
  if (INPUT_CHECK.test(message)) return errors.TENSOR_SHAPE(`the model cannot run input ${given}: ${message.trim()}`, { cause: err });
  const kernel = KERNEL_FAILURE.exec(message);
  if (kernel && !RESOURCE_WORDS.test(kernel[3])) {
    const [, op, node, rawReason] = kernel;
    const reason = withoutSourceLocation(rawReason.trim());
    const text = `the model cannot run input ${given}: its ${op} node '${node}' failed: ${reason}`;
    if (SHAPE_WORDS.test(reason)) return errors.TENSOR_SHAPE(text, { cause: err });
    if (VALUE_WORDS.test(reason)) return errors.TENSOR_INVALID(text, { cause: err });
  }
  return errors.INFERENCE_FAILED(`the runtime failed: ${message}`, { cause: err });
}

/** "path/file.h:84 ns::Fn(args) reason" → "reason". */
function withoutSourceLocation(reason: string): string {
  if (!SOURCE_LOCATION.test(reason)) return reason;
  const end = reason.indexOf(') ');
  return end >= 0 ? reason.slice(end + 2) : reason;
}
