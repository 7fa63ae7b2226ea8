export { createExternalLoader, type ExternalLoaderDeps } from './external-loader.js';
export { OpenAIUpstreamModel, type OpenAIUpstreamOptions } from './openai-upstream.js';
export { LlamaServerProcess, type LlamaServerOptions } from './llama-server-process.js';
