/** An AbortSignal that fires when the client closes the connection before its response is complete. */
import type { FastifyReply } from 'fastify';

export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const raw = reply.raw;
  raw.once('close', () => { if (!raw.writableFinished) controller.abort(); });
  return controller.signal;
}
