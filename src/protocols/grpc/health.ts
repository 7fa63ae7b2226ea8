/**
 * grpc.health.v1.Health: SERVING while the server is ready (models loaded, not shutting down), for
 * Kubernetes gRPC probes and grpc_health_probe. "" asks about the whole server; a service name asks
 * about that service. Watch streams each change.
 */
import { status as Status, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { UndecodableMessage } from './proto.js';

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export class HealthService {
  private serving = false;
  private readonly watchers = new Set<ServerWritableStream<{ service: string }, unknown>>();

  constructor(private readonly services: string[]) {}

  /** Ready (true) or not; every watcher hears of a change. */
  setServing(serving: boolean): void {
    if (serving === this.serving) return;
    this.serving = serving;
    for (const call of this.watchers) call.write({ status: this.statusOf(call.request.service) });
  }

  /** Answers NOT_SERVING to watchers and ends their streams, so shutdown does not wait on them. */
  shutdown(): void {
    this.setServing(false);
    for (const call of this.watchers) call.end();
    this.watchers.clear();
  }

  private statusOf(service: string): ServingStatus {
    if (service !== '' && !this.services.includes(service)) return 'SERVICE_UNKNOWN';
    return this.serving ? 'SERVING' : 'NOT_SERVING';
  }

  implementation(): UntypedServiceImplementation {
    return {
      Check: (call: ServerUnaryCall<{ service: string } | UndecodableMessage, unknown>, callback: sendUnaryData<unknown>) => {
        if (call.request instanceof UndecodableMessage) return callback({ code: Status.INVALID_ARGUMENT, details: `the request is not a valid protobuf message: ${call.request.reason}` });
        const status = this.statusOf(call.request.service);
        if (status === 'SERVICE_UNKNOWN') return callback({ code: Status.NOT_FOUND, details: `unknown service '${call.request.service}'` });
        callback(null, { status });
      },
      Watch: (call: ServerWritableStream<{ service: string }, unknown>) => {
        if (call.request instanceof UndecodableMessage) {
          call.emit('error', { code: Status.INVALID_ARGUMENT, details: `the request is not a valid protobuf message: ${(call.request as UndecodableMessage).reason}` });
          return;
        }
        call.write({ status: this.statusOf(call.request.service) });
        this.watchers.add(call);
        call.on('cancelled', () => this.watchers.delete(call));
      },
    };
  }
}
