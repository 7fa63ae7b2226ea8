/**
 * Ollama's API as a Fastify plugin over the same GGUF engine as the OpenAI routes: GET
 * /api/version, /api/tags, /api/ps; POST /api/show, /api/generate, /api/chat, /api/embed,
 * /api/embeddings; POST /api/pull answers 501 (models come from the repository, not a registry).
 * Errors inside this plugin answer in Ollama's shape (its own encapsulated error handler).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../../errors.js';
import { registerJsonForAnyContentType } from '../../http/json-body.js';
import type { RouteDocs } from '../../http/route-config.js';
import type { ServingMetrics } from '../../telemetry/metrics.js';
import { LLM_BODY_LIMIT_BYTES } from '../openai/index.js';
import { serveEmbeddings } from './embeddings-route.js';
import { ollamaErrorHandler } from './errors.js';
import { serveGeneration } from './generation-route.js';
import { psEntry, showBody, tagsEntry } from './model-listing.js';
import { resolveModel } from './model-names.js';
import type { OllamaModelSource, OllamaModelVersion } from './model-source.js';
import { chatSchema, embeddingsSchema, embedSchema, generateSchema, parseShow, showSchema } from './request-schemas.js';

export type { OllamaModelSource, OllamaModelVersion, OllamaLoadedVersion, OllamaLease, OllamaFileFacts } from './model-source.js';
export { ollamaErrorBody, ollamaErrorHandler } from './errors.js';

export interface OllamaRoutesOptions {
  models: OllamaModelSource;
  /** What GET /api/version answers. */
  serverVersion: string;
  /** When given, every generation and embedding request is counted (protocol="ollama"). */
  metrics?: ServingMetrics;
  /** The server's body limit; these routes take at most LLM_BODY_LIMIT_BYTES below it, as the OpenAI routes do. */
  bodyLimit?: number;
}

const INFERENCE_ROUTES = new Set(['/api/generate', '/api/chat', '/api/embed', '/api/embeddings']);

export async function ollamaRoutes(app: FastifyInstance, options: OllamaRoutesOptions): Promise<void> {
  const { models } = options;
  app.setErrorHandler(ollamaErrorHandler);
  registerJsonForAnyContentType(app);
  // The version each request was served by, for its metrics labels (and so the dashboard's row).
  const served = new WeakMap<FastifyRequest, OllamaModelVersion>();
  const servedBy = (request: FastifyRequest) => (version: OllamaModelVersion) => served.set(request, version);
  if (options.metrics) countRequests(app, models, options.metrics, served);

  const route = (docs?: RouteDocs) => ({ config: { access: 'infer', docs } as const });
  const bodyLimit = Math.min(options.bodyLimit ?? LLM_BODY_LIMIT_BYTES, LLM_BODY_LIMIT_BYTES);
  const post = (docs: RouteDocs) => ({ ...route(docs), bodyLimit });
  const ggufVersions = () => models.versions().filter((v) => v.format === 'gguf');

  app.get('/api/version', route({ summary: 'Server version (Ollama API)', tag: 'ollama' }), async () => ({ version: options.serverVersion }));

  app.get('/api/tags', route({ summary: 'GGUF models of the repository (Ollama API)', tag: 'ollama' }), async (request) => {
    const entries = await Promise.allSettled(ggufVersions().map(async (v) => tagsEntry(v, await models.facts(v.path))));
    // A file that cannot be read is left out of the list (its loads fail with the reason), not a failed list.
    for (const entry of entries) if (entry.status === 'rejected') request.log.warn({ err: entry.reason }, 'GGUF file left out of /api/tags');
    return { models: entries.flatMap((e) => e.status === 'fulfilled' ? [e.value] : []) };
  });

  app.post('/api/show', post({ summary: 'One model\'s details, metadata and template', tag: 'ollama', body: showSchema }), async (request) => {
    const { model, verbose } = parseShow(request.body);
    const version = resolveModel(models, model);
    const loaded = models.loaded().find((l) => l.name === version.name && l.version === version.version);
    return showBody(version, await models.facts(version.path), loaded, verbose);
  });

  app.get('/api/ps', route({ summary: 'Loaded GGUF models and when they unload', tag: 'ollama' }), async () => {
    const byKey = new Map(ggufVersions().map((v) => [`${v.name}\u0000${v.version}`, v]));
    const running = models.loaded().flatMap((l) => {
      const version = byKey.get(`${l.name}\u0000${l.version}`);
      return version ? [{ version, loaded: l }] : [];
    });
    return { models: await Promise.all(running.map(async ({ version, loaded }) => psEntry(version, loaded, await models.facts(version.path)))) };
  });

  app.post('/api/generate', post({ summary: 'Text generation, NDJSON-streamed unless stream: false', tag: 'ollama', body: generateSchema }), (request, reply) => serveGeneration('generate', models, request, reply, servedBy(request)));
  app.post('/api/chat', post({ summary: 'Chat, NDJSON-streamed unless stream: false', tag: 'ollama', body: chatSchema }), (request, reply) => serveGeneration('chat', models, request, reply, servedBy(request)));
  app.post('/api/embed', post({ summary: 'Embeddings of one or more inputs', tag: 'ollama', body: embedSchema }), (request, reply) => serveEmbeddings('embed', models, request, reply, servedBy(request)));
  app.post('/api/embeddings', post({ summary: 'Embedding of one prompt (older endpoint)', tag: 'ollama', body: embeddingsSchema }), (request, reply) => serveEmbeddings('embeddings', models, request, reply, servedBy(request)));

  app.post('/api/pull', post({ summary: 'Not implemented: 501', tag: 'ollama' }), async () => {
    throw errors.MODEL_PULL_UNSUPPORTED('this server does not pull models: it serves the GGUF files of its model repository (put a file in models.dir and POST /v2/repository/index)');
  });
}

function namedVersion(models: OllamaModelSource, model: unknown): OllamaModelVersion | undefined {
  if (typeof model !== 'string') return undefined;
  try {
    return resolveModel(models, model);
  } catch {
    return undefined;
  }
}

/**
 * Counts generation and embedding requests once their response has left, streamed ones included
 * (they bypass Fastify's reply hooks), under the repository's model name and the version served.
 */
function countRequests(app: FastifyInstance, models: OllamaModelSource, metrics: ServingMetrics, served: WeakMap<FastifyRequest, OllamaModelVersion>): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'POST' || !INFERENCE_ROUTES.has(request.url.split('?')[0])) return;
    const started = performance.now();
    reply.raw.once('close', () => {
      // A request refused before it was resolved counts on the version it names, if there is one.
      const version = served.get(request) ?? namedVersion(models, (request.body as { model?: unknown } | undefined)?.model);
      const model = version ? version.name : '_unknown';
      const status = String(reply.raw.statusCode);
      metrics.requests.labels('ollama', model, version?.version ?? '', status).inc();
      if (reply.raw.statusCode < 400) metrics.requestDuration.labels('ollama', model, version?.version ?? '').observe((performance.now() - started) / 1000);
    });
  });
}
