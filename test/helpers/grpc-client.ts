/**
 * gRPC clients built from the protocol files with @grpc/grpc-js and @grpc/proto-loader, as a user's
 * client would be: KServe's GRPCInferenceService straight from open_inference_grpc.proto, Triton's
 * extra methods from triton_extensions.proto (called under the GRPCInferenceService path, as
 * Triton's clients call them) and grpc.health.v1. Calls return promises of { response } or reject
 * with the grpc ServiceError (code, details, metadata).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type ServiceDefinition } from '@grpc/proto-loader';
import { REPO_ROOT } from './server-process.js';

const PROTO = path.join(REPO_ROOT, 'proto');
const OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO] };

export type Call = (request: object, metadata?: Record<string, string>) => Promise<any>;
export type GrpcClient = Record<string, Call> & { close(): void; raw: grpc.Client };

function promisify(client: grpc.Client, methods: string[]): GrpcClient {
  const out: Record<string, unknown> = { close: () => client.close(), raw: client };
  for (const name of methods) {
    out[name] = (request: object, metadata: Record<string, string> = {}) => new Promise((resolve, reject) => {
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(metadata)) md.set(k, v);
      (client as any)[name](request, md, (err: grpc.ServiceError | null, response: unknown) => (err ? reject(err) : resolve(response)));
    });
  }
  return out as GrpcClient;
}

export function inferenceDefinition(): ServiceDefinition {
  const kserve = loadSync('open_inference_grpc.proto', OPTIONS)['inference.GRPCInferenceService'] as ServiceDefinition;
  const triton = loadSync('triton_extensions.proto', OPTIONS)['inference.GRPCInferenceServiceExtensions'] as ServiceDefinition;
  const all: ServiceDefinition = { ...kserve };
  for (const [name, method] of Object.entries(triton)) all[name] = { ...method, path: `/inference.GRPCInferenceService/${name}` };
  return all;
}

/** Every inference method; ModelStreamInfer is on `.raw`. */
export function inferenceClient(address: string): GrpcClient {
  const definition = inferenceDefinition();
  const Ctor = grpc.makeGenericClientConstructor(definition, 'GRPCInferenceService');
  const client = new Ctor(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });
  return promisify(client, Object.keys(definition).filter((m) => !definition[m].requestStream));
}

export function healthClient(address: string): GrpcClient {
  const definition = loadSync('health.proto', OPTIONS)['grpc.health.v1.Health'] as ServiceDefinition;
  const client = new (grpc.makeGenericClientConstructor(definition, 'Health'))(address, grpc.credentials.createInsecure());
  return promisify(client, ['Check']);
}

/** Sends bytes as they are (no protobuf encoding), to check what the server does with a broken message. */
export function rawBytesCall(address: string, method: string, bytes: Buffer): Promise<unknown> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(`/inference.GRPCInferenceService/${method}`, (b: Buffer) => b, (b: Buffer) => b, bytes, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}

/** The error a call was expected to fail with; fails the test when the call succeeds. */
export async function rejection(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  assert.fail('the call succeeded');
}
