/**
 * What the OpenAI routes need from the model manager: the list of models, and a way to hold one
 * loaded model for the length of a response (streaming included).
 */
import type { LoadedModel } from '../../inference/types.js';

export interface ModelListing {
  name: string;
  kind: 'onnx' | 'llm';
  versions: string[];
  /** The version a request without one is served by. */
  defaultVersion?: string;
  /** Unix seconds. */
  created?: number;
}

export interface ModelLease {
  model: LoadedModel;
  /** The version that serves the request (metrics and the dashboard count it there). */
  source: { version: string };
  /** Must be called once the response is done (or failed). */
  release(): void;
}

export interface OpenAIModelSource {
  list(): ModelListing[];
  /** Throws errors.MODEL_NOT_FOUND for unknown names; may throw MODEL_UNAVAILABLE. */
  acquire(name: string): Promise<ModelLease>;
}
