/**
 * An inference for a caller inside this process (a pipeline's ctx.infer): the body of
 * POST /v2/models/{model}/infer in (validated by the same schema), its JSON response out.
 */
import { z } from 'zod';
import { errors } from '../../errors.js';
import type { InferenceService } from '../../inference/inference-service.js';
import type { InferResponse } from '../../pipelines/model-calls.js';
import { decodeJsonData, toJsonOutput } from './json-tensors.js';
import { inferRequestSchema } from './schemas.js';

const requestSchema = inferRequestSchema.extend({ version: z.string().min(1).optional() });

export async function inferOnJson(inference: InferenceService, model: string, request: unknown, signal?: AbortSignal): Promise<InferResponse> {
  signal?.throwIfAborted();
  const parsed = requestSchema.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw errors.REQUEST_INVALID(`invalid infer request: ${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  const body = parsed.data;
  const inputs = body.inputs.map((t) => {
    if (!t.data) throw errors.REQUEST_INVALID(`input '${t.name}' has no data (binary tensors are for HTTP; give 'data')`);
    return { name: t.name, datatype: t.datatype, shape: t.shape, data: decodeJsonData(t.name, t.datatype, t.shape, t.data) };
  });
  const result = await inference.infer({ model, version: body.version, inputs, outputs: body.outputs?.map((o) => o.name), background: true, disposable: true });
  return {
    model_name: model,
    model_version: result.version,
    ...(body.id !== undefined ? { id: body.id } : {}),
    outputs: result.outputs.map((t) => toJsonOutput(t) as InferResponse['outputs'][number]),
  };
}
