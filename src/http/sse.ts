/**
 * Server-Sent Events on a hijacked Fastify reply, the one way every route streams events (job
 * events, the dashboard's live feed, OpenAI's streamed completions): headers go out at once, Nagle
 * is off so each event leaves when written, optional heartbeats keep idle proxies from cutting the
 * stream, and the stream ends once, whoever ends it: the route, the client going away, or the
 * server's drain (for streams that would otherwise never end).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { refuseWhileDraining } from './drain.js';

export interface SseOptions {
  /** Extra response headers (the dashboard's CSP and framing rules: hijacked replies skip the hooks). */
  headers?: Readonly<Record<string, string>>;
  /** Default `no-cache`. */
  cacheControl?: string;
  /** `retry:` first: how long a browser's EventSource waits before reconnecting. */
  retryMs?: number;
  /** A comment line this often while the stream is open; none when unset. */
  heartbeatMs?: number;
  /**
   * A stream that only ends when its client leaves (job events, the live feed) ends when the server
   * starts draining, and is refused with 503 while it drains. A stream with an end of its own (a
   * generation) is left to finish, within the drain's timeout.
   */
  endOnDrain: boolean;
}

export interface SseEvent {
  event?: string;
  id?: string | number;
  /** A string goes as it is (one `data:` line per line), anything else as JSON. */
  data: unknown;
}

export interface SseStream {
  /** True once the stream ended; later sends are dropped. */
  readonly closed: boolean;
  send(event: SseEvent): void;
  /** Text already framed as SSE (`data: …\n\n`). */
  write(frame: string): void;
  /** Called once when the stream ends, however it ends. */
  onClose(listener: () => void): void;
  end(): void;
}

/** One event in SSE framing. */
export function sseFrame({ event, id, data }: SseEvent): string {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  let frame = '';
  // Line breaks would end a field early: a name or id is one line, data is split into data: lines.
  if (event !== undefined) frame += `event: ${oneLine(event)}\n`;
  if (id !== undefined) frame += `id: ${oneLine(String(id))}\n`;
  for (const line of text.split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
  return `${frame}\n`;
}

function oneLine(value: string): string {
  return value.replace(/[\r\n]/g, ' ');
}

/** Opens the stream; throws 503 SHUTTING_DOWN (before any byte) for an `endOnDrain` stream while draining. */
export function openSse(request: FastifyRequest, reply: FastifyReply, options: SseOptions): SseStream {
  if (options.endOnDrain) refuseWhileDraining(request, 'event stream');
  reply.hijack();
  const raw = reply.raw;
  // A real socket (app.inject's stand-in has no setNoDelay).
  if (typeof raw.socket?.setNoDelay === 'function') raw.socket.setNoDelay(true);
  raw.writeHead(200, {
    ...options.headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': options.cacheControl ?? 'no-cache',
    // Hijacked replies skip the drain's onSend hook: a stream started while draining closes its connection.
    connection: request.server.drain?.draining ? 'close' : 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(request.id),
  });
  if (options.retryMs !== undefined) raw.write(`retry: ${options.retryMs}\n\n`);

  let closed = false;
  const listeners: Array<() => void> = [];
  const drain = options.endOnDrain ? request.server.drain?.signal : undefined;
  const write = (chunk: string) => {
    if (!closed && !raw.destroyed) raw.write(chunk);
  };
  const heartbeat = options.heartbeatMs === undefined ? undefined : setInterval(() => write(': keep-alive\n\n'), options.heartbeatMs);
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    drain?.removeEventListener('abort', finish);
    raw.off('close', finish);
    for (const listener of listeners) listener();
    if (!raw.destroyed) raw.end();
  };
  raw.once('close', finish);
  drain?.addEventListener('abort', finish, { once: true });

  return {
    get closed() {
      return closed;
    },
    send: (event) => write(sseFrame(event)),
    write,
    onClose: (listener) => {
      if (closed) listener();
      else listeners.push(listener);
    },
    end: finish,
  };
}
