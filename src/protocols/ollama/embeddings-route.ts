/**
 * POST /api/embed (one vector per input, with Ollama's counts and durations) and the older POST
 * /api/embeddings (one prompt, `{"embedding": [...]}`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientGone } from '../../http/client-gone.js';
import { resolveModel } from './model-names.js';
import type { OllamaModelSource, OllamaModelVersion } from './model-source.js';
import { asLocalLanguageModel, checkNumCtx } from './generation-route.js';
import { parseEmbed, parseEmbeddings } from './request-schemas.js';
import { Timings } from './timings.js';

export async function serveEmbeddings(endpoint: 'embed' | 'embeddings', models: OllamaModelSource, request: FastifyRequest, reply: FastifyReply, served: (version: OllamaModelVersion) => void): Promise<unknown> {
  const timings = new Timings();
  const parsed = endpoint === 'embed' ? parseEmbed(request.body) : parseEmbeddings(request.body);
  const version = resolveModel(models, parsed.model);
  served(version);
  const lease = await models.acquire(version.name, version.version, parsed.keepAliveSeconds);
  timings.loaded();
  try {
    const model = asLocalLanguageModel(lease.model, parsed.model);
    const numCtx = (request.body as { options?: { num_ctx?: unknown } }).options?.num_ctx;
    checkNumCtx(typeof numCtx === 'number' ? numCtx : undefined, model);
    const { vectors, promptTokens } = await model.embed(parsed.inputs, clientGone(reply));
    if (endpoint === 'embeddings') return { embedding: Array.from(vectors[0]) };
    return { model: parsed.model, embeddings: vectors.map((v) => Array.from(v)), ...timings.sinceStart(), prompt_eval_count: promptTokens };
  } finally {
    lease.release();
  }
}
