/**
 * The jobs HTTP API and webhooks, a Fastify plugin over a PipelineService:
 *   POST /api/jobs {pipeline, input, idempotencyKey?, priority?, delayMs?} → 202 {id, status_url}
 *   GET  /api/jobs?pipeline=&state=&limit=&cursor=      GET /api/jobs/{id}
 *   POST /api/jobs/{id}/cancel    POST /api/jobs/{id}/retry    GET /api/jobs/{id}/events (SSE)
 *   GET  /api/jobs/{id}/logs?after=&limit=  (the stored log, paged)
 *   GET  /api/jobs/ready (the jobs readiness probe)    GET  /api/pipelines
 *   POST /hooks/{pipeline}  (raw body, GitHub HMAC signature, de-duplicated by delivery id)
 * Errors are thrown as ForjaErrors and answered in the plain body ({"error", "code"}).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errors } from '../../errors.js';
import { errorHandler } from '../../http/errors.js';
import { assertJsonDepth } from '../../http/json-body.js';
import { DEFAULT_MAX_INPUT_BYTES, type PipelineService } from '../../pipelines/service.js';
import { checkIdempotencyKey } from '../../pipelines/submit-limits.js';
import { streamJobEvents, type EventStreamOptions } from './job-events-stream.js';
import type { RouteDocs } from '../../http/route-config.js';
import { toLogView } from '../../pipelines/job-view.js';
import { listQuery, logsQuery, submitBody } from './schemas.js';

export interface JobsRoutesOptions {
  service: PipelineService;
  /** Largest request body for job submissions and webhooks. Default: 1 MiB plus envelope room. */
  bodyLimit?: number;
  events?: EventStreamOptions;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw errors.REQUEST_INVALID(`invalid ${what}: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return result.data;
}

const statusUrl = (id: string) => `/api/jobs/${encodeURIComponent(id)}`;

export async function jobsRoutes(app: FastifyInstance, options: JobsRoutesOptions): Promise<void> {
  const { service } = options;
  const bodyLimit = options.bodyLimit ?? DEFAULT_MAX_INPUT_BYTES + 64 * 1024;
  app.setErrorHandler(errorHandler());

  const route = (summary: string, extra: { body?: RouteDocs['body']; sessionCookie?: boolean } = {}) =>
    ({ config: { access: 'jobs', sessionCookie: extra.sessionCookie, docs: { summary, tag: 'jobs', body: extra.body } } as const });

  app.post('/api/jobs', { bodyLimit, ...route('Submit a job (202 with its status URL)', { body: submitBody }) }, async (request, reply) => {
    const body = parse(submitBody, request.body, 'job request');
    const header = request.headers['idempotency-key'];
    const headerKey = typeof header === 'string' ? checkIdempotencyKey(header, 'the Idempotency-Key header') : undefined;
    if (headerKey !== undefined && body.idempotencyKey !== undefined && headerKey !== body.idempotencyKey) {
      throw errors.REQUEST_INVALID('the Idempotency-Key header and the body\'s idempotencyKey differ; send one of them');
    }
    const idempotencyKey = body.idempotencyKey ?? headerKey;
    const { job, created } = await service.submit({ ...body, idempotencyKey });
    return reply.code(202).header('location', statusUrl(job.id)).send({ id: job.id, status_url: statusUrl(job.id), state: job.state, duplicate: !created });
  });

  app.get('/api/jobs', route('List jobs (pipeline, state, limit, cursor)'), async (request) => {
    const q = parse(listQuery, request.query, 'query');
    const page = await service.list(q);
    return { jobs: page.jobs, next_cursor: page.nextCursor ?? null };
  });

  // The jobs readiness probe (public, like /v2/health/ready): 503 while the queue storage cannot serve.
  app.get('/api/jobs/ready', { config: { access: 'public', docs: { summary: 'Jobs readiness (503 while the queue storage cannot serve)', tag: 'jobs' } } }, async (_request, reply) => {
    const state = await service.ready();
    if (state.ready) return { ready: true, backend: service.backend.kind };
    for (const [name, value] of Object.entries(state.error.headers)) reply.header(name, value);
    return reply.code(503).send({ ready: false, backend: service.backend?.kind, error: state.error.message, code: state.error.code });
  });

  app.get<{ Params: { id: string } }>('/api/jobs/:id', route('A job with its steps, progress, result or error', { sessionCookie: true }), async (request) => service.get(request.params.id));

  // The dashboard's buttons call these two with its session cookie (and its job view reads the job and its log).
  app.post<{ Params: { id: string } }>('/api/jobs/:id/cancel', route('Cancel a job (409 when finished)', { sessionCookie: true }), async (request) => service.cancel(request.params.id));

  app.post<{ Params: { id: string } }>('/api/jobs/:id/retry', route('Retry a job; completed steps are not run again', { sessionCookie: true }), async (request, reply) => reply.code(202).send(await service.retry(request.params.id)));

  app.get<{ Params: { id: string } }>('/api/jobs/:id/logs', route('A job\'s stored log lines, paged (after, limit)', { sessionCookie: true }), async (request) => {
    const q = parse(logsQuery, request.query, 'query');
    const page = await service.jobLogs(request.params.id, q.after, q.limit);
    return { logs: page.logs.map(toLogView), next_after: page.nextAfter };
  });

  app.get<{ Params: { id: string } }>('/api/jobs/:id/events', route('Server-Sent Events of one job'), (request, reply) => streamJobEvents(service, request.params.id, request, reply, options.events));

  app.get('/api/pipelines', route('Loaded pipelines and the files that failed to load'), async () => ({ pipelines: service.pipelines(), failures: service.loadFailures }));

  // Webhooks need the exact bytes that were signed: every content type is kept as a raw Buffer here.
  await app.register(async (hooks) => {
    hooks.removeAllContentTypeParsers();
    // The service parses the body as JSON whatever its content type, so the depth bound applies to all.
    hooks.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => {
      try {
        assertJsonDepth(body as Buffer, 'webhook body');
        done(null, body);
      } catch (err) {
        done(err as Error, undefined);
      }
    });
    hooks.post<{ Params: { pipeline: string } }>('/hooks/:pipeline', {
      bodyLimit,
      // Authenticated by the pipeline's HMAC signature (checked by the service), not by an API key.
      config: { access: 'webhook', docs: { summary: 'Signed webhook (X-Hub-Signature-256) that starts a job', tag: 'jobs' } },
    }, async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const { job, created } = await service.receiveWebhook(request.params.pipeline, raw, request.headers);
      return reply.code(202).header('location', statusUrl(job.id)).send({ id: job.id, status_url: statusUrl(job.id), duplicate: !created });
    });
  });
}
