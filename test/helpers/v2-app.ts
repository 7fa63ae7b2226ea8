/**
 * The v2 plugin on its own Fastify instance over a temporary repository holding the generated add
 * model: the same real model manager, onnxruntime session and codecs as `forja serve`, for
 * app.inject() tests.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { validateConfig } from '../../src/config/load.js';
import { CodecPool } from '../../src/protocols/v2/codec-pool.js';
import { v2Routes } from '../../src/protocols/v2/index.js';
import { createModelRuntime, type ModelRuntime } from '../../src/server/model-runtime.js';
import { createRegistry } from '../../src/telemetry/metrics.js';
import { tempRepo } from './model-repo.js';
import { writeAddModel } from './onnx-models.js';

export interface V2App {
  app: FastifyInstance;
  runtime: ModelRuntime;
  close(): Promise<void>;
}

export async function startV2App(options: { bodyLimit?: number; isReady?: () => boolean } = {}): Promise<V2App> {
  const repo = tempRepo();
  writeAddModel(repo.versionPath('add', '1'));
  const config = validateConfig({ models: { dir: repo.dir }, log: { level: 'silent' } });
  const runtime = createModelRuntime(config, { logger: pino({ level: 'silent' }), registry: createRegistry() });
  const app = Fastify();
  const codecs = new CodecPool();
  app.addHook('onClose', () => codecs.close());
  await app.register(v2Routes, { inference: runtime.inference, metrics: runtime.metrics, codecs, serverName: 'forja', serverVersion: 'test', bodyLimit: options.bodyLimit ?? config.server.body_limit_bytes, isReady: options.isReady ?? (() => true) });
  await runtime.manager.start();
  return {
    app,
    runtime,
    async close() {
      await app.close();
      await runtime.manager.close();
      repo.remove();
    },
  };
}
