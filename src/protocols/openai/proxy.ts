/**
 * Forwards an OpenAI request to an external backend (llama-server, vLLM …) and streams its
 * answer back byte for byte, SSE included. A client that disconnects aborts the upstream request.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors, ForjaError } from '../../errors.js';
import type { ProxyLanguageModel } from '../../inference/types.js';
import { clientGone } from '../../http/client-gone.js';

export async function proxyRequest(
  model: ProxyLanguageModel,
  path: '/chat/completions' | '/completions' | '/embeddings',
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const signal = clientGone(reply);
  let upstream: Response;
  try {
    upstream = await model.forward(path, request.body as Record<string, unknown>, signal);
  } catch (err) {
    if (err instanceof ForjaError) throw err;
    throw errors.UPSTREAM_FAILED(`the upstream server did not answer: ${(err as Error).message}`, { cause: err });
  }
  if (!upstream.ok) {
    const text = await upstream.text();
    let body: unknown;
    try { body = JSON.parse(text); } catch { body = undefined; }
    // An upstream OpenAI-shaped client error is the client's answer; anything else is a bad gateway.
    if (upstream.status < 500 && body && typeof body === 'object' && 'error' in body) {
      const retryAfter = upstream.headers.get('retry-after');
      if (retryAfter) void reply.header('retry-after', retryAfter);
      await reply.code(upstream.status).send(body);
      return;
    }
    throw errors.UPSTREAM_FAILED(`the upstream server answered ${upstream.status}: ${text.slice(0, 300)}`);
  }
  reply.hijack();
  const raw = reply.raw;
  raw.socket?.setNoDelay(true);
  raw.writeHead(upstream.status, {
    'content-type': upstream.headers.get('content-type') ?? 'application/json',
    'cache-control': 'no-cache',
    'x-request-id': String(request.id),
  });
  try {
    if (upstream.body) {
      for await (const chunk of upstream.body) {
        if (raw.destroyed) break;
        raw.write(chunk);
      }
    }
  } catch (err) {
    request.log.warn({ err }, 'upstream stream ended early');
  } finally {
    if (!raw.destroyed) raw.end();
  }
}
