/**
 * POST /api/generate and /api/chat: parse, hold the model with the request's keep-alive, admit the
 * generation (errors before this point are ordinary HTTP errors), then answer as NDJSON lines
 * (the default) or, with stream: false, as one object. A request with no prompt (or no messages)
 * only loads the model, or unloads it with keep_alive 0, as Ollama does. The model is released
 * when the response is done, however it ends; with keep_alive 0 that unloads it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../errors.js';
import { clientGone } from '../../http/client-gone.js';
import { toHttpError } from '../../http/errors.js';
import { isLanguageModel, type LanguageModel, type LoadedModel } from '../../inference/types.js';
import { ollamaErrorBody } from './errors.js';
import { resolveModel } from './model-names.js';
import type { OllamaModelSource, OllamaModelVersion } from './model-source.js';
import { openNdjson } from './ndjson-stream.js';
import { parseChat, parseGenerate, type ParsedGeneration } from './request-schemas.js';
import { Timings } from './timings.js';

export type Endpoint = 'generate' | 'chat';

export function asLocalLanguageModel(model: LoadedModel, name: string): LanguageModel {
  if (!isLanguageModel(model) || model.backend !== 'local') {
    throw errors.MODEL_WRONG_KIND(`model '${name}' is not a GGUF language model run by this server`, { param: 'model' });
  }
  return model;
}

/** The context is sized when the model loads: a request may ask for less (ignored), not more. */
export function checkNumCtx(numCtx: number | undefined, model: LanguageModel): void {
  if (numCtx !== undefined && numCtx > model.info.contextSize) {
    throw errors.LLM_UNSUPPORTED_PARAMETER(`options.num_ctx ${numCtx} is more than this model's context of ${model.info.contextSize} tokens, which is fixed when it loads (context_size in its model.yaml)`, { param: 'options.num_ctx' });
  }
}

/** The text field of each object: `response` for generate, `message` for chat. */
function content(endpoint: Endpoint, text: string): Record<string, unknown> {
  return endpoint === 'chat' ? { message: { role: 'assistant', content: text } } : { response: text };
}

function head(model: string): { model: string; created_at: string } {
  return { model, created_at: new Date().toISOString() };
}

export async function serveGeneration(endpoint: Endpoint, models: OllamaModelSource, request: FastifyRequest, reply: FastifyReply, served: (version: OllamaModelVersion) => void): Promise<unknown> {
  const timings = new Timings();
  const parsed = endpoint === 'chat' ? parseChat(request.body) : parseGenerate(request.body);
  const version = resolveModel(models, parsed.model);
  served(version);
  if (!parsed.generation) return loadOrUnload(endpoint, models, version, parsed);

  const lease = await models.acquire(version.name, version.version, parsed.keepAliveSeconds);
  timings.loaded();
  try {
    const model = asLocalLanguageModel(lease.model, parsed.model);
    checkNumCtx(parsed.numCtx, model);
    const generation = await model.start(parsed.generation, clientGone(reply));

    if (!parsed.stream) {
      let text = '';
      for await (const event of generation) {
        if (event.type === 'text') {
          timings.token();
          text += event.text;
        } else {
          return { ...head(parsed.model), ...content(endpoint, text), done: true, done_reason: event.finishReason, ...timings.final(event.usage) };
        }
      }
      return reply; // the client went away; nothing to send
    }

    const stream = openNdjson(request, reply);
    try {
      for await (const event of generation) {
        if (event.type === 'text') {
          timings.token();
          stream.write({ ...head(parsed.model), ...content(endpoint, event.text), done: false });
        } else {
          stream.write({ ...head(parsed.model), ...content(endpoint, ''), done: true, done_reason: event.finishReason, ...timings.final(event.usage) });
        }
      }
    } catch (err) {
      // Headers are gone: Ollama reports a mid-stream failure as an object with `error`.
      const failure = toHttpError(err);
      request.log.error({ err, code: failure.code }, 'generation failed mid-stream');
      stream.write(ollamaErrorBody(failure));
    } finally {
      stream.end();
    }
    return reply;
  } finally {
    lease.release();
  }
}

/** No prompt: load the model and keep it for keep_alive, or with keep_alive 0 unload it if loaded. */
async function loadOrUnload(endpoint: Endpoint, models: OllamaModelSource, version: OllamaModelVersion, parsed: ParsedGeneration): Promise<object> {
  const unload = parsed.keepAliveSeconds === 0;
  const isLoaded = models.loaded().some((v) => v.name === version.name && v.version === version.version);
  if (!unload || isLoaded) {
    const lease = await models.acquire(version.name, version.version, parsed.keepAliveSeconds);
    try {
      asLocalLanguageModel(lease.model, parsed.model);
    } finally {
      lease.release();
    }
  }
  return { ...head(parsed.model), ...content(endpoint, ''), done: true, done_reason: unload ? 'unload' : 'load' };
}
