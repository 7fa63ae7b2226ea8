/**
 * Loader for model.yaml `backend:` entries. `openai`: a remote OpenAI-compatible URL (vLLM …).
 * `llama-server`: Forja starts the configured binary on the configured model file, health-checks
 * and restarts it. Either way the model is a ProxyLanguageModel the OpenAI routes forward to.
 */
import type { Logger } from 'pino';
import { errors } from '../../../errors.js';
import type { ModelLoader, ModelVersionSource, ProxyLanguageModel } from '../../types.js';
import { defaultThreads } from '../llama/llama-loader.js';
import { LlamaServerProcess } from './llama-server-process.js';
import { OpenAIUpstreamModel } from './openai-upstream.js';

export interface ExternalLoaderDeps {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** llama-server threads of a model whose model.yaml sets none (config `models.threads`); unset: defaultThreads(). */
  threads?: number;
}

export function createExternalLoader(deps: ExternalLoaderDeps): ModelLoader & { load(source: ModelVersionSource, options: { preferGpu: boolean }): Promise<ProxyLanguageModel> } {
  const env = deps.env ?? process.env;
  return {
    async estimateMemory(source: ModelVersionSource): Promise<number> {
      return source.config.memory_bytes ?? 0;
    },

    async load(source: ModelVersionSource): Promise<ProxyLanguageModel> {
      const backend = source.config.backend;
      if (!backend) throw errors.MODEL_CONFIG_INVALID(`model ${source.name} has no backend in model.yaml`);
      const apiKey = backend.api_key_env ? env[backend.api_key_env] : undefined;
      if (backend.api_key_env && !apiKey) throw errors.MODEL_CONFIG_INVALID(`environment variable ${backend.api_key_env} (api_key_env of ${source.name}) is not set`);
      if (backend.type === 'openai') {
        if (!backend.url) throw errors.MODEL_CONFIG_INVALID(`model ${source.name}: backend type openai needs url`);
        return new OpenAIUpstreamModel({ baseUrl: backend.url, upstreamModel: backend.model, apiKey });
      }
      if (!backend.binary || !backend.model) throw errors.MODEL_CONFIG_INVALID(`model ${source.name}: backend type llama-server needs binary and model`);
      const server = new LlamaServerProcess({
        binary: backend.binary,
        model: backend.model,
        threads: source.config.threads ?? deps.threads ?? defaultThreads(),
        parallel: source.config.parallel ?? 4,
        contextSize: source.config.context_size,
        args: backend.args,
        logger: deps.logger.child({ model: source.name, backend: 'llama-server' }),
      });
      await server.start();
      return new OpenAIUpstreamModel({ baseUrl: () => server.baseUrl, apiKey, ready: () => server.assertReady(), onUnload: () => server.stop() });
    },
  };
}
