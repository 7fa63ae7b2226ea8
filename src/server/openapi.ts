/**
 * /openapi.json and a docs page at /docs. The document is made from the routes themselves: every
 * route whose config has `docs` (http/route-config.ts) is described, with the zod schemas its
 * handler validates with, so a new route cannot be missing from it or described out of date.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { errorSchema } from '../protocols/v2/schemas.js';

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
/** Fastify's `:name` parameters become OpenAPI's `{name}`, each a required string. */
const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');
const pathParams = (url: string) => [...url.matchAll(/:(\w+)/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));

export function buildOpenApiDocument(version: string, routes: readonly RouteOptions[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const docs = route.config?.docs;
    if (!docs) continue;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      const parameters = pathParams(route.url);
      const path = openApiPath(route.url);
      paths[path] ??= {};
      paths[path][method.toLowerCase()] = {
        summary: docs.summary,
        tags: [docs.tag],
        ...(parameters.length ? { parameters } : {}),
        ...(docs.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(docs.body) } } } } : {}),
        responses: {
          200: { description: 'OK', ...(docs.response ? { content: { 'application/json': { schema: jsonSchema(docs.response) } } } : {}) },
          default: { description: 'Error', content: { 'application/json': { schema: jsonSchema(errorSchema) } } },
        },
      };
    }
  }
  return { openapi: '3.0.3', info: { title: 'Forja', version, description: 'Model serving (Open Inference Protocol v2) and operations API' }, paths };
}

/**
 * `routes` is the live list of the server's routes; the document's paths are filled in once every
 * plugin has registered its routes (onReady), before the first request can ask for it.
 */
export async function openApiRoutes(app: FastifyInstance, options: { version: string; routes: readonly RouteOptions[] }): Promise<void> {
  const document: Record<string, unknown> = { openapi: '3.0.3', info: {}, paths: {} };
  app.addHook('onReady', async () => {
    Object.assign(document, buildOpenApiDocument(options.version, options.routes));
  });
  // The API description holds no data: clients and generators fetch it without a key.
  app.addHook('onRoute', (route) => {
    route.config = { access: 'public', ...route.config };
  });
  await app.register(fastifySwagger, { mode: 'static', specification: { document: document as never } });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', async () => document);
}
