/**
 * Ollama's streaming: one JSON object per line (application/x-ndjson) on a hijacked reply, each
 * line sent as soon as it is written (Nagle off). A generation has an end of its own, so the
 * server's drain lets it finish.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface NdjsonStream {
  /** A line already serialised (without its newline). */
  writeLine(json: string): void;
  write(object: unknown): void;
  end(): void;
}

export function openNdjson(request: FastifyRequest, reply: FastifyReply): NdjsonStream {
  reply.hijack();
  const raw = reply.raw;
  if (typeof raw.socket?.setNoDelay === 'function') raw.socket.setNoDelay(true);
  raw.writeHead(200, {
    'content-type': 'application/x-ndjson',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
    'x-request-id': String(request.id),
  });
  const writeLine = (json: string) => {
    if (!raw.destroyed && !raw.writableEnded) raw.write(`${json}\n`);
  };
  return {
    writeLine,
    write: (object) => writeLine(JSON.stringify(object)),
    end: () => {
      if (!raw.destroyed && !raw.writableEnded) raw.end();
    },
  };
}
