/**
 * Open Inference Protocol v2 REST routes: health, server and model metadata, readiness, infer,
 * and the model repository extension. A thin adapter over inference/: no runtime is touched here.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { InferenceService } from '../../inference/inference-service.js';
import type { ServingMetrics } from '../../telemetry/metrics.js';
import { errors } from '../../errors.js';
import { errorHandler, sendError, toHttpError } from '../../http/errors.js';
import { parseJsonBytes } from '../../http/json-body.js';
import { HEADER_LENGTH } from './infer-codec.js';
import { alignedBodyParser } from './aligned-body.js';
import type { CodecPool } from './codec-pool.js';
import { inferLimit, inferLimitHook, REPOSITORY_BODY_LIMIT, tooLarge } from './body-limits.js';
import type { RouteDocs } from '../../http/route-config.js';
import { inferRequestSchema, inferResponseSchema, modelMetadataSchema, repositoryIndexRequestSchema, repositoryIndexSchema, serverMetadataSchema } from './schemas.js';

export interface V2Options {
  inference: InferenceService;
  metrics: ServingMetrics;
  serverName: string;
  serverVersion: string;
  bodyLimit: number;
  /** Decodes and encodes large bodies on worker threads; shared with the stream route, closed by its owner. */
  codecs: CodecPool;
  /** True once start-up loading is done and until shutdown begins. */
  isReady: () => boolean;
}

type ModelParams = { model: string; version?: string };

export const V2_EXTENSIONS = ['binary_tensor_data', 'model_repository', 'model_configuration', 'statistics'];

export async function v2Routes(app: FastifyInstance, options: V2Options): Promise<void> {
  const { inference, metrics, codecs } = options;
  const manager = inference.manager;

  // Bodies arrive as raw bytes: infer may carry binary tensors after its JSON header, which the
  // parser places on an aligned offset so they are viewed rather than copied.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', alignedBodyParser(options.bodyLimit));
  // v2's error body is the plain one: {"error": "<message>", "code": "FORJA_ERR_…"}.
  app.setErrorHandler(errorHandler());

  const probe = (summary: string) => ({ config: { access: 'public', docs: { summary, tag: 'v2' } } as const });
  const route = (access: 'infer' | 'admin', docs: RouteDocs) => ({ config: { access, docs } });

  app.get('/v2/health/live', probe('Server liveness'), async () => ({ live: true }));
  app.get('/v2/health/ready', probe('Server readiness (503 while starting or draining)'), async (request, reply) => {
    if (request.server.drain?.draining) return reply.code(503).send({ ready: false, error: 'the server is shutting down', code: errors.SHUTTING_DOWN.code });
    if (!options.isReady()) return reply.code(503).send({ ready: false, error: 'the server is starting', code: errors.SERVER_NOT_READY.code });
    return { ready: true };
  });
  app.get('/v2', route('infer', { summary: 'Server metadata', tag: 'v2', response: serverMetadataSchema }), async () => ({ name: options.serverName, version: options.serverVersion, extensions: V2_EXTENSIONS }));

  const metadata = async (req: FastifyRequest<{ Params: ModelParams }>) => {
    const meta = await inference.metadata(req.params.model, req.params.version);
    return { ...meta, inputs: meta.inputs.map(specJson), outputs: meta.outputs.map(specJson) };
  };
  app.get('/v2/models/:model', route('infer', { summary: 'Model metadata (default version)', tag: 'v2', response: modelMetadataSchema }), metadata);
  app.get('/v2/models/:model/versions/:version', route('infer', { summary: 'Model version metadata', tag: 'v2', response: modelMetadataSchema }), metadata);

  const ready = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { state, reason, version } = manager.versionState(req.params.model, req.params.version);
    if (state === 'READY') return { name: req.params.model, version, ready: true };
    const notReady = state === 'UNAVAILABLE' ? errors.MODEL_UNAVAILABLE : errors.MODEL_NOT_READY;
    return sendError(req, reply, notReady(`model '${req.params.model}' version ${version} is not ready: ${state}${reason ? ` (${reason})` : ''}`));
  };
  app.get('/v2/models/:model/ready', route('infer', { summary: 'Model readiness', tag: 'v2' }), ready);
  app.get('/v2/models/:model/versions/:version/ready', route('infer', { summary: 'Model version readiness', tag: 'v2' }), ready);

  const infer = async (req: FastifyRequest<{ Params: ModelParams; Body: Buffer }>, reply: FastifyReply) => {
    const started = performance.now();
    const { model, version } = req.params;
    let status = 200;
    let resolvedVersion = version ?? '';
    try {
      if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw errors.REQUEST_MALFORMED_JSON('the request body is empty; send an infer request as JSON');
      // A chunked body had no Content-Length to refuse it by before it was read.
      const limit = inferLimit(inference, model, version, options.bodyLimit);
      if (req.body.length > limit.bytes) throw tooLarge(req.body.length, limit);
      const decoded = await codecs.decode(req.body, req.headers[HEADER_LENGTH], { ownsBuffer: true });
      const result = await inference.infer({ model, version, inputs: decoded.inputs, outputs: decoded.outputNames, disposable: true, sequence: decoded.sequence });
      resolvedVersion = result.version;
      const encoded = await codecs.encode(model, result.version, decoded.id, result.outputs, decoded.binaryOutputs);
      if (encoded.headerLength !== undefined) {
        reply.header('content-type', 'application/octet-stream').header('inference-header-content-length', String(encoded.headerLength));
      } else {
        reply.header('content-type', 'application/json; charset=utf-8');
      }
      return reply.send(encoded.payload);
    } catch (err) {
      status = toHttpError(err).statusCode;
      throw err;
    } finally {
      // Label only known models so arbitrary names cannot explode the series count.
      const known = status !== 404 && status !== 400 ? true : manager.modelNames().includes(model);
      const label = known ? model : '_unknown';
      metrics.requests.labels('v2', label, known ? resolvedVersion : '', String(status)).inc();
      if (status === 200) metrics.requestDuration.labels('v2', label, resolvedVersion).observe((performance.now() - started) / 1000);
    }
  };
  const inferLimits = { preParsing: inferLimitHook(inference, options.bodyLimit) };
  app.post('/v2/models/:model/infer', { ...route('infer', { summary: 'Inference (JSON or binary tensor data)', tag: 'v2', body: inferRequestSchema, response: inferResponseSchema }), ...inferLimits }, infer);
  app.post('/v2/models/:model/versions/:version/infer', { ...route('infer', { summary: 'Inference on a version', tag: 'v2', body: inferRequestSchema, response: inferResponseSchema }), ...inferLimits }, infer);

  // Triton's model configuration and statistics extensions (docs/statistics.md).
  const config = async (req: FastifyRequest<{ Params: ModelParams }>) => inference.configOf(req.params.model, req.params.version);
  app.get('/v2/models/:model/config', route('infer', { summary: 'Model configuration (Triton extension)', tag: 'v2' }), config);
  app.get('/v2/models/:model/versions/:version/config', route('infer', { summary: 'Model version configuration (Triton extension)', tag: 'v2' }), config);
  const stats = async (req: FastifyRequest<{ Params: Partial<ModelParams> }>) => ({ model_stats: inference.statisticsOf(req.params.model, req.params.version) });
  app.get('/v2/models/stats', route('infer', { summary: 'Statistics of every model (Triton extension)', tag: 'v2' }), stats);
  app.get('/v2/models/:model/stats', route('infer', { summary: 'Model statistics (Triton extension)', tag: 'v2' }), stats);
  app.get('/v2/models/:model/versions/:version/stats', route('infer', { summary: 'Model version statistics (Triton extension)', tag: 'v2' }), stats);

  // Repository extension. Loading and unloading change what the server holds in memory: operators only.
  const repository = { bodyLimit: REPOSITORY_BODY_LIMIT };
  app.post('/v2/repository/index', { ...route('admin', { summary: 'Repository index', tag: 'repository', body: repositoryIndexRequestSchema, response: repositoryIndexSchema }), ...repository }, async (req: FastifyRequest<{ Body: Buffer | undefined }>) => {
    const body = parseOptionalJson(req.body);
    const parsed = repositoryIndexRequestSchema.safeParse(body ?? {});
    if (!parsed.success) throw errors.REQUEST_INVALID(`invalid repository index request: ${parsed.error.issues[0].message}`);
    manager.rescan();
    return manager.status()
      .filter((s) => !parsed.data.ready || s.state === 'READY')
      .map((s) => ({ name: s.name, version: s.version, state: s.state, reason: s.reason ?? '' }));
  });
  app.post('/v2/repository/models/:model/load', { ...route('admin', { summary: 'Load a model', tag: 'repository' }), ...repository }, async (req: FastifyRequest<{ Params: ModelParams; Body: Buffer | undefined }>) => {
    parseOptionalJson(req.body);
    await manager.load(req.params.model);
    return {};
  });
  app.post('/v2/repository/models/:model/unload', { ...route('admin', { summary: 'Unload a model', tag: 'repository' }), ...repository }, async (req: FastifyRequest<{ Params: ModelParams; Body: Buffer | undefined }>) => {
    parseOptionalJson(req.body);
    await manager.unload(req.params.model);
    return {};
  });
}

function specJson(spec: { name: string; datatype: string; shape: number[] }) {
  return { name: spec.name, datatype: spec.datatype, shape: spec.shape };
}

function parseOptionalJson(body: Buffer | undefined): unknown {
  if (!body || body.length === 0) return undefined;
  return parseJsonBytes(body);
}
