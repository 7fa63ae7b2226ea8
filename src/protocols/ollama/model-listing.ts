/**
 * The model objects of GET /api/tags, POST /api/show and GET /api/ps, with the fields Ollama
 * sends, filled from the GGUF file itself: size and modification time of the file, its SHA-256
 * as the digest, and details (family, parameter size, quantization) from its metadata.
 */
import { isLanguageModel } from '../../inference/types.js';
import { tagOf } from './model-names.js';
import type { OllamaFileFacts, OllamaLoadedVersion, OllamaModelVersion } from './model-source.js';

export interface ModelDetails {
  parent_model: string;
  format: 'gguf';
  family: string;
  families: string[];
  parameter_size: string;
  quantization_level: string;
}

/** Parameter counts as Ollama prints them: 8.0B, 137M, 260K. */
export function parameterSize(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(1)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(count >= 1e8 ? 0 : 1)}M`;
  if (count >= 1e3) return `${Math.round(count / 1e3)}K`;
  return String(count);
}

export function details(facts: OllamaFileFacts): ModelDetails {
  return {
    parent_model: '',
    format: 'gguf',
    family: facts.architecture,
    families: [facts.architecture],
    parameter_size: parameterSize(facts.parameterCount),
    quantization_level: facts.quantization,
  };
}

export async function tagsEntry(version: OllamaModelVersion, facts: OllamaFileFacts): Promise<object> {
  const tag = tagOf(version);
  return {
    name: tag,
    model: tag,
    modified_at: facts.modifiedAt.toISOString(),
    size: facts.fileBytes,
    digest: await facts.sha256(),
    details: details(facts),
  };
}

/** A model kept loaded for ever shows an expiry as far away as Ollama's (the largest Go duration). */
const FOREVER_MS = 9_223_372_036_854; // 2^63 - 1 ns

export async function psEntry(version: OllamaModelVersion, loaded: OllamaLoadedVersion, facts: OllamaFileFacts): Promise<object> {
  const tag = tagOf(version);
  const { model } = loaded;
  // In use, it expires its keep-alive after the last request ends: shown as if that were now.
  const expiresAt = loaded.expiresAt ?? Date.now() + (loaded.keepAliveSeconds < 0 ? FOREVER_MS : loaded.keepAliveSeconds * 1000);
  return {
    name: tag,
    model: tag,
    size: model.memoryBytes,
    digest: await facts.sha256(),
    details: details(facts),
    expires_at: new Date(Math.min(expiresAt, 8.64e15)).toISOString(),
    size_vram: model.device === 'gpu' ? model.memoryBytes : 0,
    ...(isLanguageModel(model) && model.backend === 'local' ? { context_length: model.info.contextSize } : {}),
  };
}

export function showBody(version: OllamaModelVersion, facts: OllamaFileFacts, loaded: OllamaLoadedVersion | undefined, verbose: boolean): object {
  const model = loaded?.model;
  const contextSize = model && isLanguageModel(model) && model.backend === 'local' ? model.info.contextSize : undefined;
  const parameters = contextSize === undefined ? '' : `num_ctx                        ${contextSize}`;
  return {
    // Forja has no Modelfile: this one only names the model and the setting that is known.
    modelfile: `# Served by Forja from its model repository (no Modelfile)\nFROM ${tagOf(version)}\n${parameters ? `PARAMETER ${parameters.replace(/ +/, ' ')}\n` : ''}`,
    parameters,
    template: facts.chatTemplate ?? '',
    details: details(facts),
    model_info: facts.metadata({ fullArrays: verbose }),
    capabilities: ['completion', 'embedding'],
    modified_at: facts.modifiedAt.toISOString(),
  };
}
