/**
 * `GET /v2/models/{m}/stream`: a WebSocket (the `ws` package) carrying v2 infer requests, answered
 * in order on the same socket. A text frame is an infer request as JSON; a binary frame is a 4-byte
 * little-endian header length, the JSON header, then the binary tensor data (the binary tensor
 * extension's layout). Answers use the same framing; an error is a text frame
 * `{"error": "...", "code": "FORJA_ERR_..."}` and the session goes on.
 *
 * For a model with `sequence:` in its model.yaml the socket is one session whose state the server
 * keeps (inference/sessions.ts); otherwise each message is a plain infer request.
 *
 * The upgrade request goes through Fastify's routing, so the API-key hook and the route's scope apply
 * as on any HTTP route. Limits: frames over server.body_limit_bytes close the socket with 1009,
 * at most `server.max_stream_connections` sockets at once (503 beyond), at most STREAM_PENDING
 * messages waiting per socket (reading pauses until answers drain, and while the client does not
 * read its answers), a ping every PING_INTERVAL_MS and the socket dropped when no pong comes back.
 * Frames are decoded and answers encoded like REST bodies: the large ones on the codec threads.
 */
import type { IncomingMessage } from 'node:http';
import { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { InferenceService } from '../../inference/inference-service.js';
import type { SessionService, Session } from '../../inference/sessions.js';
import { errors } from '../../errors.js';
import { refuseWhileDraining } from '../../http/drain.js';
import { plainErrorBody, toHttpError } from '../../http/errors.js';
import type { ServingMetrics } from '../../telemetry/metrics.js';
import type { CodecPool } from './codec-pool.js';
import type { DecodedInfer } from './infer-codec.js';

export const STREAM_PENDING = 16;
const PING_INTERVAL_MS = 30_000;
/** Answers buffered for a client that does not read them before its socket stops being read. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export interface StreamOptions {
  inference: InferenceService;
  sessions: SessionService;
  bodyLimit: number;
  maxConnections: number;
  /** The REST route's pool: a large frame is decoded (and a large answer encoded) off the event loop. */
  codecs: CodecPool;
  /** Each message counts as a request with protocol="websocket", its status the one REST would answer. */
  metrics: ServingMetrics;
}

const upgradeHeads = new WeakMap<IncomingMessage, Buffer>();

/** Sends upgrade requests through Fastify's routing (hooks, auth, 404s) instead of dropping them. */
export function routeUpgrades(app: FastifyInstance): void {
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgradeHeads.set(req, head);
    const res = new ServerResponse(req);
    res.assignSocket(socket as import('node:net').Socket);
    app.routing(req, res);
  });
}

export function streamRoute(app: FastifyInstance, options: StreamOptions): { closeAll(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.bodyLimit });
  const sockets = new Set<WebSocket>();

  app.get('/v2/models/:model/stream', { config: { access: 'infer', docs: { summary: 'A WebSocket of infer requests; a session with server-kept state for a stateful model (docs/streaming.md)', tag: 'v2' } } }, async (req: FastifyRequest<{ Params: { model: string } }>, reply: FastifyReply) => {
    const head = upgradeHeads.get(req.raw);
    if (head === undefined || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      throw errors.REQUEST_INVALID('this route is a WebSocket: send an Upgrade: websocket request');
    }
    // A socket opened now would be closed with 1001 at once: the client should open it elsewhere.
    refuseWhileDraining(req, 'stream');
    if (sockets.size >= options.maxConnections) {
      throw errors.QUEUE_FULL(`the server holds ${sockets.size} streams, its limit (server.max_stream_connections); retry shortly`, { headers: { 'retry-after': '1' } });
    }
    const model = req.params.model;
    // Opened before the upgrade, so an unknown model or a model that cannot load is a plain HTTP error.
    let socket: WebSocket | undefined;
    const session = options.sessions.isStateful(model) ? await options.sessions.open(model, undefined, () => socket?.close(1000, 'session idle timeout')) : undefined;
    if (!session) options.inference.manager.getModel(model);
    reply.hijack();
    wss.handleUpgrade(req.raw, req.raw.socket, head, (ws) => {
      socket = ws;
      serve(ws, model, session);
    });
  });

  function serve(ws: WebSocket, model: string, session: Session | undefined): void {
    sockets.add(ws);
    let alive = true;
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, PING_INTERVAL_MS);
    ping.unref();
    ws.on('pong', () => {
      alive = true;
    });
    let chain: Promise<void> = Promise.resolve();
    // Decoding is asynchronous (large frames go to a codec thread), so a small frame could finish
    // decoding before a large one sent earlier: each message starts its step only after the one
    // before it did, which keeps a session's steps in the order they were sent.
    let started: Promise<unknown> = Promise.resolve();
    let pending = 0;
    const socket = (ws as unknown as { _socket: Duplex })._socket;
    const flowControl = () => {
      if (pending >= STREAM_PENDING || ws.bufferedAmount > MAX_BUFFERED_BYTES) socket.pause();
      else socket.resume();
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      pending++;
      flowControl();
      const decoding = decodeFrame(toBuffer(data), isBinary);
      const inTurn = started.then(() => decoding);
      const answer = answerOne(model, session, inTurn, performance.now());
      started = inTurn.catch(() => undefined);
      chain = chain.then(async () => {
        const frame = await answer;
        if (ws.readyState === ws.OPEN) ws.send(frame.data, { binary: frame.binary }, () => flowControl());
        pending--;
        flowControl();
      });
    });
    ws.on('close', () => {
      clearInterval(ping);
      sockets.delete(ws);
      if (session) options.sessions.close(session);
    });
    ws.on('error', () => undefined);
  }

  function decodeFrame(data: Buffer, isBinary: boolean): Promise<DecodedInfer> {
    if (!isBinary) return options.codecs.decode(data, undefined);
    if (data.length < 4) return Promise.reject(errors.REQUEST_INVALID('a binary frame starts with the 4-byte little-endian length of its JSON header'));
    return options.codecs.decode(data.subarray(4), String(data.readUInt32LE(0)));
  }

  async function answerOne(model: string, session: Session | undefined, decoding: Promise<DecodedInfer>, arrived: number): Promise<{ data: string | Buffer; binary: boolean }> {
    let status = 200;
    let version = session?.version ?? '';
    try {
      const decoded = await decoding;
      const result = session
        ? await options.sessions.step(session, decoded.inputs, decoded.outputNames)
        : await options.inference.infer({ model, inputs: decoded.inputs, outputs: decoded.outputNames, disposable: true });
      version = result.version;
      const encoded = await options.codecs.encode(model, result.version, decoded.id, result.outputs, decoded.binaryOutputs);
      if (encoded.headerLength === undefined) return { data: encoded.payload, binary: false };
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32LE(encoded.headerLength);
      return { data: Buffer.concat([prefix, encoded.payload as Buffer]), binary: true };
    } catch (err) {
      const e = toHttpError(err);
      status = e.statusCode;
      if (e.code === 'FORJA_ERR_INTERNAL') app.log.error({ err }, 'stream message failed');
      return { data: JSON.stringify(plainErrorBody(e)), binary: false };
    } finally {
      // The socket was opened for a known model, so its name is a bounded label.
      options.metrics.requests.labels('websocket', model, version, String(status)).inc();
      if (status === 200) options.metrics.requestDuration.labels('websocket', model, version).observe((performance.now() - arrived) / 1000);
    }
  }

  return {
    closeAll() {
      for (const ws of sockets) ws.close(1001, 'server shutting down');
      options.sessions.closeAll();
    },
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
