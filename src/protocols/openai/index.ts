/**
 * The OpenAI-compatible API as a Fastify plugin: GET /v1/models[/:model], POST
 * /v1/chat/completions, /v1/completions, /v1/embeddings. Errors inside this plugin answer in
 * OpenAI's shape (its own encapsulated error handler). Register it without a prefix.
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';
import { openAIErrorHandler } from './errors.js';
import type { OpenAIModelSource } from './model-source.js';
import { serveEmbeddings } from './embeddings-route.js';
import { serveGeneration } from './generation-route.js';
import type { ServingMetrics } from '../../telemetry/metrics.js';

export type { OpenAIModelSource, ModelLease, ModelListing } from './model-source.js';
export { openAIErrorBody, openAIErrorHandler } from './errors.js';

export interface OpenAIRoutesOptions {
  models: OpenAIModelSource;
  /** When given, every POST is counted in the shared request metrics (protocol="openai"). */
  metrics?: ServingMetrics;
}

export async function openaiRoutes(app: FastifyInstance, options: OpenAIRoutesOptions): Promise<void> {
  const { models } = options;
  app.setErrorHandler(openAIErrorHandler);
  if (options.metrics) countRequests(app, models, options.metrics);
  const modelObject = (m: { name: string; created?: number }) => ({ id: m.name, object: 'model', created: m.created ?? 0, owned_by: 'forja' });

  app.get('/v1/models', async () => ({
    object: 'list',
    data: models.list().filter((m) => m.kind === 'llm').map(modelObject),
  }));

  app.get<{ Params: { model: string } }>('/v1/models/:model', async (request) => {
    const found = models.list().find((m) => m.name === request.params.model && m.kind === 'llm');
    if (!found) throw errors.MODEL_NOT_FOUND(`The model '${request.params.model}' does not exist`, { param: 'model' });
    return modelObject(found);
  });

  app.post('/v1/chat/completions', (request, reply) => serveGeneration('chat', models, request, reply));
  app.post('/v1/completions', (request, reply) => serveGeneration('text', models, request, reply));
  app.post('/v1/embeddings', (request, reply) => serveEmbeddings(models, request, reply));
}

/**
 * Counts requests once their response has left, streamed ones included (they bypass Fastify's
 * reply hooks), so error-rate and latency alerts see OpenAI traffic too.
 */
function countRequests(app: FastifyInstance, models: OpenAIModelSource, metrics: ServingMetrics): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'POST') return;
    const started = performance.now();
    reply.raw.once('close', () => {
      const asked = (request.body as { model?: unknown } | undefined)?.model;
      const known = typeof asked === 'string' && models.list().some((m) => m.name === asked);
      const model = known ? (asked as string) : '_unknown';
      const status = String(reply.raw.statusCode);
      metrics.requests.labels('openai', model, '', status).inc();
      if (reply.raw.statusCode < 400) metrics.requestDuration.labels('openai', model, '').observe((performance.now() - started) / 1000);
    });
  });
}
