/**
 * Ollama names a model `name:tag`. Here the name is the repository's model name and the tag its
 * version: `latest` (or no tag) is the default version, any other tag a version by its name
 * (`stories:2`). Listings name the default version `name:latest` and the others `name:<version>`.
 */
import { errors } from '../../errors.js';
import type { OllamaModelSource, OllamaModelVersion } from './model-source.js';

export const LATEST = 'latest';

export function tagOf(version: OllamaModelVersion): string {
  return `${version.name}:${version.isDefault ? LATEST : version.version}`;
}

/**
 * The GGUF version a request names; 404 as Ollama answers for a name not in the repository, 400
 * for a model that is not served here (ONNX, or an external backend that only speaks OpenAI's API).
 */
export function resolveModel(models: OllamaModelSource, requested: string): OllamaModelVersion {
  const colon = requested.lastIndexOf(':');
  const name = colon === -1 ? requested : requested.slice(0, colon);
  const tag = colon === -1 ? LATEST : requested.slice(colon + 1);
  const versions = models.versions().filter((v) => v.name === name);
  const found = tag === LATEST ? versions.find((v) => v.isDefault) : versions.find((v) => v.version === tag);
  if (!found) throw errors.MODEL_NOT_FOUND(`model '${requested}' not found`, { param: 'model' });
  if (found.format === 'onnx') {
    throw errors.MODEL_WRONG_KIND(`model '${requested}' is an ONNX model, served over the v2 inference API, not a language model`, { param: 'model' });
  }
  if (found.format === 'external') {
    throw errors.MODEL_WRONG_KIND(`model '${requested}' is an external OpenAI-compatible backend, served over the OpenAI API (/v1) only`, { param: 'model' });
  }
  return found;
}
