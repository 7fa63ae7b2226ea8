/**
 * What the Ollama routes see of the model manager: the repository's versions, the loaded ones with
 * their keep-alive, leases that carry a request's keep-alive, and each GGUF file's own facts.
 */
import { errors } from '../errors.js';
import type { ModelManager } from '../inference/model-manager.js';
import { ggufFacts } from '../inference/backends/llama/gguf-facts.js';
import type { OllamaModelSource } from '../protocols/ollama/index.js';

export function ollamaModelSource(manager: ModelManager): OllamaModelSource {
  return {
    versions: () => manager.modelNames().flatMap((name) => {
      const model = manager.getModel(name);
      return model.versions.map((v) => ({ name, version: v.version, isDefault: v.version === model.defaultVersion, format: v.format, path: v.path }));
    }),
    loaded: () => manager.status().filter((s) => s.state === 'READY').flatMap((s) => {
      const loaded = manager.loadedVersion(s.name, s.version);
      return loaded ? [{ name: s.name, version: s.version, model: loaded.model, expiresAt: s.expiresAt, keepAliveSeconds: s.keepAliveSeconds }] : [];
    }),
    acquire: (name, version, keepAliveSeconds) => manager.acquire(name, version, { keepAliveSeconds }),
    facts: async (path) => {
      try {
        return await ggufFacts(path);
      } catch (err) {
        throw errors.MODEL_UNAVAILABLE(`cannot read the GGUF file ${path}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
