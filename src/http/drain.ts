/**
 * The HTTP side of a graceful stop. When the drain starts, readiness answers 503, long-lived streams
 * end (Server-Sent Events through `http/sse.ts`, WebSockets through their route), every answer asks
 * its client to close the connection, and the listener stays open: a load balancer still routing
 * here for a few seconds (Kubernetes does after SIGTERM) gets answers, not refused connections.
 * Every request is counted from its headers to its last byte, so the server knows when none is left.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's drain (server/app.ts registers one); a plugin mounted alone in a test has none. */
    drain?: Drain;
  }
}

export class Drain {
  private readonly controller = new AbortController();
  private count = 0;
  private readonly idleWaiters = new Set<() => void>();

  constructor(private readonly onCount: (inFlight: number) => void = () => undefined) {}

  /** Aborted when the drain starts: streams that would last forever end on it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get draining(): boolean {
    return this.controller.signal.aborted;
  }

  /** Requests between their headers and their last byte (open streams included). */
  get inFlight(): number {
    return this.count;
  }

  start(): void {
    if (!this.draining) this.controller.abort();
  }

  /** Resolves true once no request is in flight, false when `timeoutMs` passes first. */
  settled(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (idle: boolean) => {
        clearTimeout(timer);
        this.idleWaiters.delete(onIdle);
        resolve(idle);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.idleWaiters.add(onIdle);
    });
  }

  enter(): void {
    this.onCount(++this.count);
  }

  leave(): void {
    this.onCount(--this.count);
    if (this.count === 0) for (const onIdle of [...this.idleWaiters]) onIdle();
  }
}

/** Decorates the app with its drain and counts every request; call before any route or plugin. */
export function registerDrain(app: FastifyInstance, onCount?: (inFlight: number) => void): Drain {
  const drain = new Drain(onCount);
  app.decorate('drain', drain);
  app.addHook('onRequest', (_request, reply, done) => {
    drain.enter();
    // 'close' comes once the response is complete or the connection is gone, hijacked replies included.
    reply.raw.once('close', () => drain.leave());
    done();
  });
  app.addHook('onSend', async (_request, reply) => {
    // While draining, a keep-alive connection would keep the server open after its last answer.
    if (drain.draining) reply.header('connection', 'close');
  });
  return drain;
}

/**
 * For routes that open a stream the drain would end at once (event streams, WebSockets): 503
 * SHUTTING_DOWN with Retry-After while draining, so the client opens it on another replica.
 */
export function refuseWhileDraining(request: FastifyRequest, what: string): void {
  if (request.server.drain?.draining) {
    throw errors.SHUTTING_DOWN(`the server is shutting down; open the ${what} again (another replica will answer)`, { headers: { 'retry-after': '1' } });
  }
}
