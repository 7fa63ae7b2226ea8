/**
 * What pipelines get as ctx.infer / ctx.chat: the models of this server, called in process through
 * the same model manager and batcher as HTTP traffic.
 *   ctx.infer(model, { inputs: [v2 JSON tensors], outputs?: [{ name }], version? }) → { model_name, model_version, outputs }
 *   ctx.chat(model, { messages, max_tokens?, temperature?, … })                     → { text, finish_reason, usage }
 */
import type { PipelineModels } from '../pipelines/define.js';
import type { InferenceService } from '../inference/inference-service.js';
import type { LanguageModel, LlmModel } from '../inference/types.js';
import { inferRequestSchema } from '../protocols/v2/schemas.js';
import { decodeJsonData, toJsonOutput } from '../protocols/v2/json-tensors.js';
import { errors } from '../errors.js';
import { z } from 'zod';

const chatRequestSchema = z.object({
  messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() })).min(1),
  max_tokens: z.number().int().min(1).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  seed: z.number().int().optional(),
  stop: z.array(z.string()).optional(),
});

export function pipelineModels(inference: InferenceService): PipelineModels {
  return {
    async infer(model: string, request: unknown) {
      const parsed = inferRequestSchema.extend({ version: z.string().optional() }).safeParse(request);
      if (!parsed.success) throw errors.REQUEST_INVALID(`ctx.infer('${model}'): ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`);
      const body = parsed.data;
      const inputs = body.inputs.map((t) => {
        if (!t.data) throw errors.REQUEST_INVALID(`ctx.infer('${model}'): input '${t.name}' has no data`);
        return { name: t.name, datatype: t.datatype, shape: t.shape, data: decodeJsonData(t.name, t.datatype, t.shape, t.data) };
      });
      const result = await inference.infer({ model, version: body.version, inputs, outputs: body.outputs?.map((o) => o.name), background: true, disposable: true });
      return { model_name: model, model_version: result.version, outputs: result.outputs.map(toJsonOutput) };
    },

    async chat(model: string, request: unknown) {
      const parsed = chatRequestSchema.safeParse(request);
      if (!parsed.success) throw errors.REQUEST_INVALID(`ctx.chat('${model}'): ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`);
      const lease = await inference.manager.acquire<LlmModel>(model);
      try {
        if (lease.model.kind !== 'llm' || lease.model.backend !== 'local') throw errors.MODEL_WRONG_KIND(`ctx.chat('${model}'): not a local language model`);
        const body = parsed.data;
        const result = await (lease.model as LanguageModel).complete({
          prompt: body.messages, maxTokens: body.max_tokens, temperature: body.temperature, topP: body.top_p, seed: body.seed, stop: body.stop,
        });
        return { text: result.text, finish_reason: result.finishReason, usage: { prompt_tokens: result.usage.promptTokens, completion_tokens: result.usage.completionTokens } };
      } finally {
        lease.release();
      }
    },
  };
}
