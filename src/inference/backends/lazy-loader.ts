/**
 * Defers importing a runtime until a model of its format is first estimated or loaded, so a server
 * with only ONNX models never pays node-llama-cpp's start-up time or memory.
 */
import type { LoadedModel, ModelLoader, ModelVersionSource } from '../types.js';

export function lazyLoader(create: () => Promise<ModelLoader>): ModelLoader {
  let loader: Promise<ModelLoader> | undefined;
  const get = () => (loader ??= create());
  return {
    async estimateMemory(source: ModelVersionSource): Promise<number> {
      return (await get()).estimateMemory(source);
    },
    async load(source: ModelVersionSource, options: { preferGpu: boolean; signal?: AbortSignal }): Promise<LoadedModel> {
      return (await get()).load(source, options);
    },
  };
}
