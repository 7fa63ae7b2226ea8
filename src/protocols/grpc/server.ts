/**
 * Open Inference Protocol v2 over gRPC (KServe's inference.GRPCInferenceService), Triton's
 * additions (streaming infer, repository, model configuration, statistics) and grpc.health.v1.
 * A thin adapter over inference/, like the REST routes: the same InferenceService (so gRPC and REST
 * requests for one model share batches), the same model manager, keys, body limit and messages.
 */
import { Server, ServerCredentials, status as Status, type Metadata, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { InferenceService } from '../../inference/inference-service.js';
import type { ServingMetrics } from '../../telemetry/metrics.js';
import type { Access, ApiKeyStore, CallLimiter } from '../../security/index.js';
import { errors, toForjaError } from '../../errors.js';
import { loadServices, UndecodableMessage, INFERENCE_SERVICE } from './proto.js';
import { decodeInferRequest, encodeInferResponse, type GrpcInferRequest } from './codec.js';
import { toServiceError } from './status.js';
import { authorize, limitCall } from './auth.js';
import { HealthService } from './health.js';

export interface GrpcOptions {
  inference: InferenceService;
  metrics: ServingMetrics;
  serverName: string;
  serverVersion: string;
  extensions: string[];
  /** Largest message accepted (server.body_limit_bytes); bigger ones get RESOURCE_EXHAUSTED. */
  bodyLimit: number;
  isReady: () => boolean;
  /** The API keys in force now (a reload may replace them). */
  keys: () => ApiKeyStore;
  /** The HTTP rate limit (security.rate_limit), counted per call in the same buckets. */
  rateLimit: CallLimiter;
  logger: Logger;
}

/** Requests of one ModelStreamInfer stream that may run at once; reading pauses beyond it. */
const STREAM_IN_FLIGHT = 64;

export class GrpcServer {
  private readonly server: Server;
  readonly health: HealthService;

  constructor(private readonly options: GrpcOptions) {
    this.server = new Server({ 'grpc.max_receive_message_length': options.bodyLimit, 'grpc.max_send_message_length': -1 });
    const services = loadServices();
    this.health = new HealthService([INFERENCE_SERVICE]);
    this.server.addService(services.inference, this.inferenceService());
    this.server.addService(services.health, this.health.implementation());
  }

  /** Binds host:port (0 picks a free port) and resolves with `grpc://host:port`. */
  async listen(host: string, port: number): Promise<string> {
    const hostPart = host.includes(':') ? `[${host}]` : host;
    const bound = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(`${hostPart}:${port}`, ServerCredentials.createInsecure(), (err, actual) => (err ? reject(err) : resolve(actual)));
    });
    return `grpc://${hostPart}:${bound}`;
  }

  /** Stops taking calls and waits for the running ones; past timeoutMs the rest are cancelled. */
  async close(timeoutMs: number): Promise<void> {
    this.health.shutdown();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, timeoutMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private inferenceService(): UntypedServiceImplementation {
    const { inference, isReady } = this.options;
    const manager = inference.manager;
    return {
      ServerLive: this.unary('public', async () => ({ live: true })),
      ServerReady: this.unary('public', async () => ({ ready: isReady() })),
      ServerMetadata: this.unary('infer', async () => ({ name: this.options.serverName, version: this.options.serverVersion, extensions: this.options.extensions })),
      ModelReady: this.unary('infer', async (req: { name: string; version: string }) => ({ ready: manager.versionState(req.name, req.version || undefined).state === 'READY' })),
      ModelMetadata: this.unary('infer', async (req: { name: string; version: string }) => inference.metadata(req.name, req.version || undefined)),
      ModelInfer: this.unary('infer', (req: GrpcInferRequest) => this.infer(req)),
      ModelStreamInfer: (call: ServerDuplexStream<unknown, unknown>) => this.stream(call),
      ModelConfig: this.unary('infer', async (req: { name: string; version: string }) => ({ config: await inference.configOf(req.name, req.version || undefined) })),
      ModelStatistics: this.unary('infer', async (req: { name: string; version: string }) => ({ model_stats: inference.statisticsOf(req.name || undefined, req.version || undefined) })),
      RepositoryIndex: this.unary('admin', async (req: { ready: boolean }) => {
        manager.rescan();
        return { models: manager.status().filter((s) => !req.ready || s.state === 'READY').map((s) => ({ name: s.name, version: s.version, state: s.state, reason: s.reason ?? '' })) };
      }),
      RepositoryModelLoad: this.unary('admin', async (req: { model_name: string }) => {
        await manager.load(req.model_name);
        return {};
      }),
      RepositoryModelUnload: this.unary('admin', async (req: { model_name: string }) => {
        await manager.unload(req.model_name);
        return {};
      }),
    };
  }

  /** One unary method: rate limit, decode check, API key check, the handler, errors as gRPC statuses. */
  private unary<Req>(access: Access, handler: (request: Req, metadata: Metadata) => Promise<unknown>) {
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const run = async () => {
        limitCall(call.metadata, call.getPeer(), access, this.options.rateLimit);
        if (call.request instanceof UndecodableMessage) throw errors.REQUEST_INVALID(`the request is not a valid protobuf message: ${call.request.reason}`);
        authorize(call.metadata, access, this.options.keys());
        return handler(call.request as Req, call.metadata);
      };
      run().then((reply) => callback(null, reply), (err) => callback(this.failure(err)));
    };
  }

  private failure(err: unknown) {
    const serviceError = toServiceError(err);
    if (serviceError.code === Status.INTERNAL) this.options.logger.error({ err }, 'gRPC call failed');
    return serviceError;
  }

  /** ModelInfer: the same engine call as POST /v2/models/{m}/infer, and the same metrics, labelled grpc. */
  private async infer(req: GrpcInferRequest): Promise<unknown> {
    const { inference, metrics } = this.options;
    const started = performance.now();
    let status = 200;
    let version = req.model_version ?? '';
    try {
      const decoded = decodeInferRequest(req);
      const result = await inference.infer({ model: decoded.model, version: decoded.version, inputs: decoded.inputs, outputs: decoded.outputNames, disposable: true, sequence: decoded.sequence });
      version = result.version;
      return encodeInferResponse(decoded.model, result.version, decoded.id, result.outputs, decoded.raw);
    } catch (err) {
      status = toForjaError(err).statusCode;
      throw err;
    } finally {
      // The status label carries the HTTP status the same error has over REST, so one alert rule covers both.
      const model = req.model_name ?? '';
      const known = status !== 404 && status !== 400 ? true : inference.manager.modelNames().includes(model);
      const label = known ? model : '_unknown';
      metrics.requests.labels('grpc', label, known ? version : '', String(status)).inc();
      if (status === 200) metrics.requestDuration.labels('grpc', label, version).observe((performance.now() - started) / 1000);
    }
  }

  /**
   * ModelStreamInfer: each message is an infer request; they run concurrently (so they batch) and
   * are answered in the order they came. An error answers that message with error_message and the
   * stream goes on. A bad key, or a client over the rate limit, ends the stream with its status
   * before any message is read; the stream counts once in the rate limit, when it opens (as a
   * WebSocket counts at its upgrade request).
   */
  private stream(call: ServerDuplexStream<unknown, unknown>): void {
    try {
      limitCall(call.metadata, call.getPeer(), 'infer', this.options.rateLimit);
      authorize(call.metadata, 'infer', this.options.keys());
    } catch (err) {
      call.emit('error', toServiceError(err));
      return;
    }
    let chain: Promise<void> = Promise.resolve();
    let inFlight = 0;
    let ended = false;
    const finishIfDone = () => {
      if (ended && inFlight === 0) call.end();
    };
    call.on('data', (message: unknown) => {
      inFlight++;
      if (inFlight >= STREAM_IN_FLIGHT) call.pause();
      const answer = message instanceof UndecodableMessage
        ? Promise.reject(errors.REQUEST_INVALID(`the request is not a valid protobuf message: ${message.reason}`))
        : this.infer(message as GrpcInferRequest);
      const reply = answer.then((infer_response) => ({ error_message: '', infer_response }), (err) => ({ error_message: toForjaError(err).message }));
      chain = chain.then(async () => {
        const r = await reply;
        if (!call.cancelled) call.write(r);
        inFlight--;
        if (inFlight < STREAM_IN_FLIGHT) call.resume();
        finishIfDone();
      });
    });
    call.on('end', () => {
      ended = true;
      void chain.then(finishIfDone);
    });
    call.on('error', () => undefined);
  }
}
