/**
 * The OpenAI-compatible API as a Fastify plugin: GET /v1/models[/:model], POST
 * /v1/chat/completions, /v1/completions, /v1/embeddings. Errors inside this plugin answer in
 * OpenAI's shape (its own encapsulated error handler). Register it without a prefix.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../../errors.js';
import { openAIErrorHandler } from './errors.js';
import type { OpenAIModelSource } from './model-source.js';
import { serveEmbeddings } from './embeddings-route.js';
import { serveGeneration } from './generation-route.js';
import type { ServingMetrics } from '../../telemetry/metrics.js';
import type { RouteDocs } from '../../http/route-config.js';
import { chatSchema, completionSchema, embeddingSchema } from './request-schemas.js';

export type { OpenAIModelSource, ModelLease, ModelListing } from './model-source.js';
export { openAIErrorBody, openAIErrorHandler } from './errors.js';

export interface OpenAIRoutesOptions {
  models: OpenAIModelSource;
  /** When given, every POST is counted in the shared request metrics (protocol="openai"). */
  metrics?: ServingMetrics;
  /** The server's body limit; the OpenAI routes take at most LLM_BODY_LIMIT_BYTES below it. */
  bodyLimit?: number;
}

/**
 * Far above any prompt a context can take (128k tokens of text is ~0.5 MB), and small enough that
 * parsing the largest body accepted costs the event loop little: a bigger body is 413 before it is read.
 */
export const LLM_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

export async function openaiRoutes(app: FastifyInstance, options: OpenAIRoutesOptions): Promise<void> {
  const { models } = options;
  app.setErrorHandler(openAIErrorHandler);
  // The version each request was served by, for its metrics labels (and so the dashboard's row).
  const served = new WeakMap<FastifyRequest, string>();
  const acquireFor = (request: FastifyRequest) => async (name: string) => {
    const lease = await models.acquire(name);
    served.set(request, lease.source.version);
    return lease;
  };
  if (options.metrics) countRequests(app, models, options.metrics, served);
  const modelObject = (m: { name: string; created?: number }) => ({ id: m.name, object: 'model', created: m.created ?? 0, owned_by: 'forja' });

  const route = (docs?: RouteDocs) => ({ config: { access: 'infer', docs } as const });
  const bodyLimit = Math.min(options.bodyLimit ?? LLM_BODY_LIMIT_BYTES, LLM_BODY_LIMIT_BYTES);
  const post = (docs: RouteDocs) => ({ ...route(docs), bodyLimit });

  app.get('/v1/models', route({ summary: 'Language models (OpenAI API)', tag: 'openai' }), async () => ({
    object: 'list',
    data: models.list().filter((m) => m.kind === 'llm').map(modelObject),
  }));

  app.get<{ Params: { model: string } }>('/v1/models/:model', route({ summary: 'One language model', tag: 'openai' }), async (request) => {
    const found = models.list().find((m) => m.name === request.params.model && m.kind === 'llm');
    if (!found) throw errors.MODEL_NOT_FOUND(`The model '${request.params.model}' does not exist`, { param: 'model' });
    return modelObject(found);
  });

  app.post('/v1/chat/completions', post({ summary: 'Chat completion, streamed with stream: true', tag: 'openai', body: chatSchema }), (request, reply) => serveGeneration('chat', acquireFor(request), request, reply));
  app.post('/v1/completions', post({ summary: 'Text completion', tag: 'openai', body: completionSchema }), (request, reply) => serveGeneration('text', acquireFor(request), request, reply));
  app.post('/v1/embeddings', post({ summary: 'Embeddings', tag: 'openai', body: embeddingSchema }), (request, reply) => serveEmbeddings(acquireFor(request), request, reply));
}

/**
 * Counts requests once their response has left, streamed ones included (they bypass Fastify's
 * reply hooks), so error-rate and latency alerts see OpenAI traffic too.
 */
function countRequests(app: FastifyInstance, models: OpenAIModelSource, metrics: ServingMetrics, served: WeakMap<FastifyRequest, string>): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'POST') return;
    const started = performance.now();
    reply.raw.once('close', () => {
      const asked = (request.body as { model?: unknown } | undefined)?.model;
      const listing = typeof asked === 'string' ? models.list().find((m) => m.name === asked) : undefined;
      const model = listing ? listing.name : '_unknown';
      // A request refused before it held the model counts on the version it would have been served by.
      const version = listing ? served.get(request) ?? listing.defaultVersion ?? '' : '';
      const status = String(reply.raw.statusCode);
      metrics.requests.labels('openai', model, version, status).inc();
      if (reply.raw.statusCode < 400) metrics.requestDuration.labels('openai', model, version).observe((performance.now() - started) / 1000);
    });
  });
}
