/**
 * What pipelines get as ctx.infer / ctx.chat: the models of this process, called through the same
 * model manager, batcher and request validation as HTTP traffic, answered with the same bodies.
 *   ctx.infer(model, v2 infer request)                 → the v2 infer response (JSON tensors)
 *   ctx.chat(model, chat request without model/stream) → the chat.completion object
 */
import type { PipelineModels } from '../pipelines/model-calls.js';
import type { InferenceService } from '../inference/inference-service.js';
import { inferOnJson } from '../protocols/v2/in-process-infer.js';
import { chatCompletion } from '../protocols/openai/in-process-chat.js';
import { ForjaError } from '../errors.js';

/** Names the call in the message, so a failed step says which model call failed; code and status stay. */
function named(call: string, err: unknown): never {
  if (err instanceof ForjaError) err.message = `${call}: ${err.message}`;
  throw err;
}

export function pipelineModels(inference: InferenceService): PipelineModels {
  return {
    infer: (model, request, options) =>
      inferOnJson(inference, model, request, options?.signal).catch((err: unknown) => named(`ctx.infer('${model}')`, err)),
    chat: (model, request, options) =>
      chatCompletion(inference.manager, model, request, options?.signal).catch((err: unknown) => named(`ctx.chat('${model}')`, err)),
  };
}
