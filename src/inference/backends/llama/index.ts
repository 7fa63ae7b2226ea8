export { createLlamaLoader, defaultThreads, type LlamaLoader, type LlamaLoaderDeps } from './llama-loader.js';
export { LlamaLanguageModel } from './llama-model.js';
export { GenerationEngine, type EngineJob, type EngineOptions, type EndReason } from './generation-engine.js';
export { validateGguf, type GgufSummary } from './gguf-validation.js';
export { estimateGgufMemory, type ContextShape } from './memory-estimate.js';
export { llmMetrics, type LlmMetrics } from './llm-metrics.js';
