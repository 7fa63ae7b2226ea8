/**
 * Server-sent events on a hijacked Fastify reply: headers go out at once (time to first token),
 * Nagle is off so each chunk leaves when written, and a client that goes away aborts `signal`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface SseStream {
  write(chunk: string): void;
  end(): void;
}

export function openSse(request: FastifyRequest, reply: FastifyReply): SseStream {
  reply.hijack();
  const raw = reply.raw;
  raw.socket?.setNoDelay(true);
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(request.id),
  });
  return {
    write: (chunk) => { if (!raw.destroyed) raw.write(chunk); },
    end: () => { if (!raw.destroyed) raw.end(); },
  };
}

/** An AbortSignal that fires when the client closes the connection before the response is complete. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const raw = reply.raw;
  raw.once('close', () => { if (!raw.writableFinished) controller.abort(); });
  return controller.signal;
}
