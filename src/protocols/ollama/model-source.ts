/**
 * What the Ollama routes need from the model manager: the repository's versions, which of them are
 * loaded and until when, a lease on one for the length of a response (with the request's own
 * keep-alive), and what each GGUF file says about itself.
 */
import type { GgufFacts, LoadedModel } from '../../inference/types.js';

export interface OllamaModelVersion {
  name: string;
  version: string;
  /** The version a request without one (or with the tag `latest`) is served by. */
  isDefault: boolean;
  format: 'onnx' | 'gguf' | 'external';
  /** The model file ('' for an external backend). */
  path: string;
}

export interface OllamaLoadedVersion {
  name: string;
  version: string;
  model: LoadedModel;
  /** Epoch ms when it will be unloaded; absent while in use or when kept forever. */
  expiresAt?: number;
  /** -1: kept loaded until unloaded by hand. */
  keepAliveSeconds: number;
}

export interface OllamaLease {
  model: LoadedModel;
  release(): void;
}

/** The metadata of a GGUF file, as the engine reads it. */
export type OllamaFileFacts = GgufFacts;

export interface OllamaModelSource {
  /** Every version of every model in the repository, of any format. */
  versions(): OllamaModelVersion[];
  /** The versions that are loaded now. */
  loaded(): OllamaLoadedVersion[];
  /** Throws MODEL_NOT_FOUND / MODEL_VERSION_NOT_FOUND; may throw MODEL_UNAVAILABLE. */
  acquire(name: string, version: string, keepAliveSeconds?: number): Promise<OllamaLease>;
  facts(path: string): Promise<OllamaFileFacts>;
}
