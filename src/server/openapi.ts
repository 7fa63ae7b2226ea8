/**
 * /openapi.json, generated from the zod schemas the handlers validate with, and a docs page at /docs.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import * as v2 from '../protocols/v2/schemas.js';
import { chatSchema, completionSchema, embeddingSchema } from '../protocols/openai/request-schemas.js';
import { submitBody } from '../protocols/jobs/schemas.js';

interface Operation {
  method: 'get' | 'post';
  path: string;
  summary: string;
  tag: string;
  body?: z.ZodType;
  response?: z.ZodType;
}

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
/** Every `{name}` in a path is a required string parameter. */
const pathParams = (path: string) => [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));

const operations: Operation[] = [
  { method: 'get', path: '/v2/health/live', summary: 'Server liveness', tag: 'v2' },
  { method: 'get', path: '/v2/health/ready', summary: 'Server readiness (503 while starting or draining)', tag: 'v2' },
  { method: 'get', path: '/v2', summary: 'Server metadata', tag: 'v2', response: v2.serverMetadataSchema },
  { method: 'get', path: '/v2/models/{model}', summary: 'Model metadata (default version)', tag: 'v2', response: v2.modelMetadataSchema },
  { method: 'get', path: '/v2/models/{model}/versions/{version}', summary: 'Model version metadata', tag: 'v2', response: v2.modelMetadataSchema },
  { method: 'get', path: '/v2/models/{model}/ready', summary: 'Model readiness', tag: 'v2' },
  { method: 'get', path: '/v2/models/{model}/versions/{version}/ready', summary: 'Model version readiness', tag: 'v2' },
  { method: 'post', path: '/v2/models/{model}/infer', summary: 'Inference (JSON or binary tensor data)', tag: 'v2', body: v2.inferRequestSchema, response: v2.inferResponseSchema },
  { method: 'post', path: '/v2/models/{model}/versions/{version}/infer', summary: 'Inference on a version', tag: 'v2', body: v2.inferRequestSchema, response: v2.inferResponseSchema },
  { method: 'post', path: '/v2/repository/index', summary: 'Repository index', tag: 'repository', body: v2.repositoryIndexRequestSchema, response: v2.repositoryIndexSchema },
  { method: 'post', path: '/v2/repository/models/{model}/load', summary: 'Load a model', tag: 'repository' },
  { method: 'post', path: '/v2/repository/models/{model}/unload', summary: 'Unload a model', tag: 'repository' },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', tag: 'operations' },
  { method: 'get', path: '/v1/models', summary: 'Language models (OpenAI API)', tag: 'openai' },
  { method: 'post', path: '/v1/chat/completions', summary: 'Chat completion, streamed with stream: true', tag: 'openai', body: chatSchema },
  { method: 'post', path: '/v1/completions', summary: 'Text completion', tag: 'openai', body: completionSchema },
  { method: 'post', path: '/v1/embeddings', summary: 'Embeddings', tag: 'openai', body: embeddingSchema },
  { method: 'post', path: '/api/jobs', summary: 'Submit a job (202 with its status URL)', tag: 'jobs', body: submitBody },
  { method: 'get', path: '/api/jobs', summary: 'List jobs (pipeline, state, limit, cursor)', tag: 'jobs' },
  { method: 'get', path: '/api/jobs/ready', summary: 'Jobs readiness: 503 while the queue storage cannot serve', tag: 'jobs' },
  { method: 'get', path: '/api/jobs/{id}', summary: 'A job with its steps, progress, result or error', tag: 'jobs' },
  { method: 'post', path: '/api/jobs/{id}/cancel', summary: 'Cancel a job (409 when finished)', tag: 'jobs' },
  { method: 'post', path: '/api/jobs/{id}/retry', summary: 'Retry a job; completed steps are not run again', tag: 'jobs' },
  { method: 'get', path: '/api/jobs/{id}/events', summary: 'Server-Sent Events of one job', tag: 'jobs' },
  { method: 'post', path: '/hooks/{pipeline}', summary: 'Signed webhook (X-Hub-Signature-256) that starts a job', tag: 'jobs' },
];

export function buildOpenApiDocument(version: string, extra: Operation[] = []): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of [...operations, ...extra]) {
    const parameters = pathParams(op.path);
    paths[op.path] ??= {};
    paths[op.path][op.method] = {
      summary: op.summary,
      tags: [op.tag],
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body) } } } } : {}),
      responses: {
        200: { description: 'OK', ...(op.response ? { content: { 'application/json': { schema: jsonSchema(op.response) } } } : {}) },
        default: { description: 'Error', content: { 'application/json': { schema: jsonSchema(v2.errorSchema) } } },
      },
    };
  }
  return { openapi: '3.0.3', info: { title: 'Forja', version, description: 'Model serving (Open Inference Protocol v2) and operations API' }, paths };
}

export async function openApiRoutes(app: FastifyInstance, options: { version: string }): Promise<void> {
  const document = buildOpenApiDocument(options.version);
  await app.register(fastifySwagger, { mode: 'static', specification: { document: document as never } });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', async () => document);
}
