/**
 * Test fixture: real GGUF models loaded by the real loader, served by the real OpenAI plugin on a
 * Fastify instance listening on 127.0.0.1:0. The model source is a small in-test implementation of
 * OpenAIModelSource that counts leases, so tests can check every response releases its model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { errors } from '../../../../src/errors.js';
import { createLlamaLoader, type LlamaLoader } from '../../../../src/inference/backends/llama/index.js';
import type { LoadedModel, ModelVersionSource } from '../../../../src/inference/types.js';
import type { ModelConfig } from '../../../../src/inference/model-config.js';
import { openaiRoutes, type OpenAIModelSource, type ModelLease, type ModelListing } from '../../../../src/protocols/openai/index.js';
import { writeTinyLlamaGguf } from '../../../helpers/gguf-writer.js';

export class TestModelSource implements OpenAIModelSource {
  readonly models = new Map<string, LoadedModel>();
  leases = 0;

  add(name: string, model: LoadedModel): void { this.models.set(name, model); }

  list(): ModelListing[] {
    return [...this.models.entries()].map(([name, m]) => ({ name, kind: m.kind, versions: ['1'], created: 1_700_000_000 }));
  }

  async acquire(name: string): Promise<ModelLease> {
    const model = this.models.get(name);
    if (!model) throw errors.MODEL_NOT_FOUND(`The model '${name}' does not exist`);
    this.leases++;
    let released = false;
    return { model, source: { version: '1' }, release: () => { if (!released) { released = true; this.leases--; } } };
  }
}

export interface LlmServer {
  url: string;
  /** base URL for the openai client (…/v1) */
  baseURL: string;
  app: FastifyInstance;
  source: TestModelSource;
  loader: LlamaLoader;
  registry: Registry;
  dir: string;
  load(name: string, file: string, config?: ModelConfig): Promise<LoadedModel>;
  close(): Promise<void>;
}

export function gguf(dir: string, name = 'tiny.gguf', options: Parameters<typeof writeTinyLlamaGguf>[1] = {}): string {
  return writeTinyLlamaGguf(path.join(dir, name), options);
}

export function versionSource(name: string, file: string, config: ModelConfig = {}): ModelVersionSource {
  return { name, version: '1', path: file, format: 'gguf', config: { threads: 1, ...config } };
}

export async function startLlmServer(): Promise<LlmServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'forja-llm-'));
  const registry = new Registry();
  const loader = createLlamaLoader({ registry, logger: pino({ level: 'silent' }) });
  const source = new TestModelSource();
  // Closing the server also closes the clients' idle keep-alive sockets, so the test process can exit.
  const app = Fastify({ forceCloseConnections: true });
  await app.register(openaiRoutes, { models: source });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url, baseURL: `${url}/v1`, app, source, loader, registry, dir,
    async load(name, file, config) {
      const model = await loader.load(versionSource(name, file, config), { preferGpu: false });
      source.add(name, model);
      return model;
    },
    async close() {
      await app.close();
      for (const m of source.models.values()) await m.unload();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
