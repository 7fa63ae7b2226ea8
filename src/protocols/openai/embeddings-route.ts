/** POST /v1/embeddings: one vector per input, as float arrays or base64 of little-endian float32. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ModelLease } from './model-source.js';
import { asLanguageModel } from './generation-route.js';
import { proxyRequest } from './proxy.js';
import { parseEmbedding } from './request-schemas.js';
import { clientGone } from '../../http/client-gone.js';

function base64(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
}

export async function serveEmbeddings(acquire: (name: string) => Promise<ModelLease>, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const parsed = parseEmbedding(request.body);
  const lease = await acquire(parsed.model);
  try {
    const model = asLanguageModel(lease.model, parsed.model);
    if (model.backend === 'external') {
      await proxyRequest(model, '/embeddings', request, reply);
      return reply;
    }
    const { vectors, promptTokens } = await model.embed(parsed.inputs, clientGone(reply));
    return {
      object: 'list',
      data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: parsed.encoding === 'base64' ? base64(v) : Array.from(v) })),
      model: parsed.model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    };
  } finally {
    lease.release();
  }
}
