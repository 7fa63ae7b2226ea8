/**
 * Ollama's error body: {"error": "<message>"}, which the official clients raise as the message of
 * their ResponseError, plus the top-level `code` with the FORJA_ERR_… code every Forja error body
 * carries. Sending is http/errors.ts's.
 */
import type { ForjaError } from '../../errors.js';
import { errorHandler } from '../../http/errors.js';

export interface OllamaErrorBody {
  error: string;
  code: string;
}

export function ollamaErrorBody(err: ForjaError): OllamaErrorBody {
  return { error: err.message, code: err.code };
}

export const ollamaErrorHandler = errorHandler(ollamaErrorBody);
