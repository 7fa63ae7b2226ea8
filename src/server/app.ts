/**
 * Builds one Forja server from a validated config: telemetry, the model manager with its loaders,
 * the inference service, and the Fastify app with each protocol mounted. start() listens and loads
 * models; close() drains requests and unloads models.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ForjaConfig } from '../config/schema.js';
import { createLogger } from '../telemetry/logger.js';
import { createRegistry, ServingMetrics } from '../telemetry/metrics.js';
import { ModelManager } from '../inference/model-manager.js';
import { InferenceService } from '../inference/inference-service.js';
import type { ModelLoader } from '../inference/types.js';
import { describeRepository } from '../inference/repository.js';
import { v2Routes, V2_EXTENSIONS } from '../protocols/v2/index.js';
import { GrpcServer } from '../protocols/grpc/index.js';
import { routeUpgrades, streamRoute } from '../protocols/v2/stream.js';
import { CodecPool } from '../protocols/v2/codec-pool.js';
import { openaiRoutes, type OpenAIModelSource } from '../protocols/openai/index.js';
import { ollamaRoutes } from '../protocols/ollama/index.js';
import { ollamaModelSource } from './ollama-models.js';
import type { PipelineService } from '../pipelines/service.js';
import { pipelineModels } from './pipeline-models.js';
import { pipelineServiceOptions } from './pipeline-options.js';
import { createModelRuntime } from './model-runtime.js';
import { openApiRoutes } from './openapi.js';
import { dashboardRoutes } from '../dashboard/index.js';
import { errors } from '../errors.js';
import { errorHandler, sendError } from '../http/errors.js';
import { registerDrain } from '../http/drain.js';
import { registerJsonBodyParser } from '../http/json-body.js';
import { FORJA_VERSION } from './version.js';
import { registerSecurity, type Security } from '../security/index.js';

export interface ForjaServer {
  app: FastifyInstance;
  config: Readonly<ForjaConfig>;
  manager: ModelManager;
  inference: InferenceService;
  /** Present when a pipelines directory is configured. */
  pipelines?: PipelineService;
  registry: Registry;
  metrics: ServingMetrics;
  logger: Logger;
  /** Keys, sessions and the CORS and rate-limit settings in force; the config reloader updates them. */
  security: Security;
  /** Present when server.grpc_port is set. */
  grpc?: GrpcServer;
  /** `grpc://host:port` once started with gRPC on. */
  grpcUrl?: string;
  /** Listens, then loads models; resolves with the URL once ready. */
  start(): Promise<string>;
  /** Stops taking requests, waits for in-flight ones, unloads models. */
  close(): Promise<void>;
}

export interface BuildOptions {
  logger?: Logger;
  /** Extra loaders by format (the GGUF backend plugs in here). */
  loaders?: Partial<Record<'gguf' | 'external', ModelLoader>>;
}

export async function buildServer(config: Readonly<ForjaConfig>, options: BuildOptions = {}): Promise<ForjaServer> {
  const logger = options.logger ?? createLogger(config.log.level, undefined, config.log.format);
  const registry = createRegistry();
  const { manager, inference, metrics } = createModelRuntime(config, { logger, registry, loaders: options.loaders });

  let ready = false;
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: !config.server.access_log }),
    bodyLimit: config.server.body_limit_bytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // The drain closes the listener only once nothing is in flight; a request that still arrives on
    // an open connection then is served (with Connection: close), not refused with a codeless 503.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 512 },
  });
  // Before any plugin: every route that takes JSON inherits the depth-bounded parser.
  registerJsonBodyParser(app);
  // Before any route too: every request is counted in flight, and every stream sees the drain.
  const drain = registerDrain(app, (inFlight) => metrics.httpInFlight.set(inFlight));
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.setNotFoundHandler((request, reply) => {
    void sendError(request, reply, errors.ROUTE_NOT_FOUND(`no route for ${request.method} ${request.url.split('?')[0]}`));
  });
  app.setErrorHandler(errorHandler());

  // Before any route: the security hooks must be inherited by every protocol plugin.
  const security = await registerSecurity(app, { security: config.security, host: config.server.host, logger });
  // Metrics name models and pipelines and show load; Prometheus sends an admin key (docs/security.md).
  app.get('/metrics', { config: { access: 'admin', docs: { summary: 'Prometheus metrics', tag: 'operations' } } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  await app.register(openApiRoutes, { version: FORJA_VERSION, routes: security.routes });
  await app.register(dashboardRoutes, { manager, registry, pipelines: () => pipelines, serverVersion: FORJA_VERSION, security });
  const codecs = new CodecPool({ onOffload: (op) => metrics.codecOffloads.labels(op).inc() });
  app.addHook('onClose', () => codecs.close());
  await app.register(v2Routes, {
    inference,
    metrics,
    codecs,
    serverName: 'forja',
    serverVersion: FORJA_VERSION,
    bodyLimit: config.server.body_limit_bytes,
    isReady: () => ready,
  });

  const sessions = inference.sessions;
  routeUpgrades(app);
  let streams: { closeAll(): void } | undefined;
  await app.register(async (scope) => {
    streams = streamRoute(scope, { inference, sessions, bodyLimit: config.server.body_limit_bytes, maxConnections: config.server.max_stream_connections, codecs, metrics });
  });

  const modelSource: OpenAIModelSource = {
    list: () => manager.modelNames().map((name) => {
      const model = manager.getModel(name);
      return { name, kind: manager.kindOf(name), versions: model.versions.map((v) => v.version), defaultVersion: model.defaultVersion };
    }),
    acquire: (name) => manager.acquire(name),
  };
  await app.register(openaiRoutes, { models: modelSource, metrics, bodyLimit: config.server.body_limit_bytes });
  await app.register(ollamaRoutes, { models: ollamaModelSource(manager), serverVersion: FORJA_VERSION, metrics, bodyLimit: config.server.body_limit_bytes });

  let pipelines: PipelineService | undefined;
  if (config.pipelines.dir) {
    // Imported only when used: a model-only server starts without the queue code.
    const [{ PipelineService }, { jobsRoutes }] = await Promise.all([import('../pipelines/service.js'), import('../protocols/jobs/index.js')]);
    pipelines = new PipelineService({ ...pipelineServiceOptions(config), registry, logger, models: pipelineModels(inference) });
    await app.register(jobsRoutes, { service: pipelines });
  }

  const grpc = config.server.grpc_port === undefined ? undefined : new GrpcServer({
    inference,
    metrics,
    serverName: 'forja',
    serverVersion: FORJA_VERSION,
    extensions: V2_EXTENSIONS,
    bodyLimit: config.server.body_limit_bytes,
    isReady: () => ready,
    keys: () => security.keys,
    rateLimit: security.limitCall,
    logger,
  });

  // The listener stays open while requests are in flight, so late arrivals are served; once none is
  // left, Fastify closes it and the idle keep-alive connections. Past budgetMs the busy ones are cut.
  const closeHttp = async (budgetMs: number) => {
    if (!(await drain.settled(budgetMs))) {
      logger.warn({ inFlight: drain.inFlight }, 'HTTP drain timed out; closing the connections of the requests still in flight');
      app.server.closeAllConnections();
    }
    await app.close();
  };

  let grpcUrl: string | undefined;
  return {
    app, config, manager, inference, pipelines, registry, metrics, logger, security, grpc,
    get grpcUrl() {
      return grpcUrl;
    },
    async start() {
      // Fastify's own "Server listening at http://…" would come before the models load: scripts
      // waiting for the URL would get 503s. The ready line (cli/serve.ts) names the URL instead.
      const address = await app.listen({ host: config.server.host, port: config.server.port, listenTextResolver: () => 'socket bound; loading models before ready' });
      if (grpc) grpcUrl = await grpc.listen(config.server.host, config.server.grpc_port!);
      // Models first: jobs that resume at start may call them at once.
      await manager.start();
      if (manager.modelNames().length === 0) {
        const what = describeRepository(config.models.dir) === 'missing' ? 'does not exist' : 'holds no models';
        logger.warn({ dir: config.models.dir }, `no models: ${config.models.dir} ${what}; serving with none (add models and POST /v2/repository/index, or restart with --models DIR or FILE)`);
      }
      await pipelines?.start();
      for (const failure of pipelines?.loadFailures ?? []) logger.error({ pipeline: failure.name, file: failure.file, error: failure.error }, 'pipeline failed to load');
      ready = true;
      grpc?.health.setServing(true);
      return address;
    },
    async close() {
      ready = false;
      // Readiness answers 503 and event streams end; WebSockets close with 1001 (going away).
      drain.start();
      streams?.closeAll();
      // Jobs stop being claimed at once and get their grace while HTTP and gRPC calls drain. Each gets
      // at most half the shutdown timeout, so running jobs are handed back before the forced exit.
      const halfMs = config.server.shutdown_timeout_ms / 2;
      const graceMs = Math.min(config.pipelines.shutdown_grace_ms, halfMs);
      grpc?.health.setServing(false);
      // Both listeners stay open through server.drain_delay_ms, for load balancers still routing here.
      const delayMs = Math.min(config.server.drain_delay_ms, halfMs);
      const delayed = new Promise<void>((resolve) => setTimeout(resolve, delayMs));
      await Promise.all([
        delayed.then(() => closeHttp(halfMs - delayMs)),
        grpc && delayed.then(() => grpc.close(config.server.shutdown_timeout_ms - delayMs)),
        pipelines?.drain({ timeoutMs: graceMs }),
      ]);
      await pipelines?.stop({ timeoutMs: graceMs });
      await manager.close();
    },
  };
}
