/**
 * Loads the protocol files in proto/ into grpc-js service definitions: KServe's
 * inference.GRPCInferenceService, Triton's additions (declared on an extension service, served
 * under the GRPCInferenceService path so Triton's clients find them) and grpc.health.v1.Health.
 *
 * Request decoding never throws: a message that is not valid protobuf becomes an UndecodableMessage,
 * so the handler can answer INVALID_ARGUMENT with a Forja error instead of grpc-js's bare INTERNAL.
 */
import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition, type ServiceDefinition } from '@grpc/proto-loader';

/** dist/src/protocols/grpc/ -> the repository's proto/ directory (shipped next to dist/). */
export const PROTO_DIR = fileURLToPath(new URL('../../../../proto/', import.meta.url));
export const INFERENCE_SERVICE = 'inference.GRPCInferenceService';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** Decoding options: field names as in the .proto, 64-bit integers as decimal strings (no precision loss). */
export const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] };

export class UndecodableMessage {
  constructor(readonly reason: string) {}
}

export interface ForjaServices {
  inference: ServiceDefinition;
  health: ServiceDefinition;
}

export function loadServices(): ForjaServices {
  const pkg = loadSync(['open_inference_grpc.proto', 'triton_extensions.proto', 'health.proto'], LOADER_OPTIONS);
  const kserve = pkg[INFERENCE_SERVICE] as ServiceDefinition;
  const extensions = pkg['inference.GRPCInferenceServiceExtensions'] as ServiceDefinition;
  const inference: ServiceDefinition = {};
  for (const [name, method] of Object.entries(kserve)) inference[name] = lenient(method);
  for (const [name, method] of Object.entries(extensions)) inference[name] = lenient({ ...method, path: `/${INFERENCE_SERVICE}/${name}` });
  const health: ServiceDefinition = {};
  for (const [name, method] of Object.entries(pkg[HEALTH_SERVICE] as ServiceDefinition)) health[name] = lenient(method);
  return { inference, health };
}

function lenient(method: MethodDefinition<object, object>): MethodDefinition<object, object> {
  const decode = method.requestDeserialize;
  return {
    ...method,
    requestDeserialize: (bytes: Buffer) => {
      try {
        return decode(bytes);
      } catch (err) {
        return new UndecodableMessage((err as Error).message);
      }
    },
  };
}
