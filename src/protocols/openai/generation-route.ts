/**
 * POST /v1/chat/completions and /v1/completions: parse, hold the model, admit the generation
 * (errors before this point are ordinary HTTP errors), then answer as one JSON body or as SSE.
 * The model is released when the response is done, however it ends.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../errors.js';
import { clientGone } from '../../http/client-gone.js';
import { toHttpError } from '../../http/errors.js';
import { openSse } from '../../http/sse.js';
import { isLanguageModel, type LlmModel, type LoadedModel } from '../../inference/types.js';
import { openAIErrorBody } from './errors.js';
import type { ModelLease } from './model-source.js';
import { proxyRequest } from './proxy.js';
import { parseChatCompletion, parseCompletion } from './request-schemas.js';
import { ChunkWriter, completionBody, DONE, newIdentity, type Endpoint } from './response-shapes.js';

export function asLanguageModel(model: LoadedModel, name: string): LlmModel {
  if (!isLanguageModel(model)) {
    throw errors.MODEL_WRONG_KIND(`The model '${name}' is not a language model (it is an ONNX model served over the v2 inference API).`, { param: 'model' });
  }
  return model;
}

export async function serveGeneration(endpoint: Endpoint, acquire: (name: string) => Promise<ModelLease>, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const parsed = endpoint === 'chat' ? parseChatCompletion(request.body) : parseCompletion(request.body);
  const lease = await acquire(parsed.model);
  try {
    const model = asLanguageModel(lease.model, parsed.model);
    if (model.backend === 'external') {
      await proxyRequest(model, endpoint === 'chat' ? '/chat/completions' : '/completions', request, reply);
      return reply;
    }
    const signal = clientGone(reply);
    const generation = await model.start(parsed.generation, signal);
    const who = newIdentity(endpoint, parsed.model);

    if (!parsed.stream) {
      let text = '';
      for await (const event of generation) {
        if (event.type === 'text') text += event.text;
        else return completionBody(endpoint, who, text, event.finishReason, event.usage);
      }
      return reply; // the client went away; nothing to send
    }

    // A generation ends by itself: the drain lets it finish instead of cutting the answer short.
    const sse = openSse(request, reply, { endOnDrain: false });
    const chunks = new ChunkWriter(endpoint, who, parsed.includeUsage);
    const opening = chunks.opening();
    if (opening) sse.write(opening);
    try {
      for await (const event of generation) {
        if (event.type === 'text') {
          sse.write(chunks.text(event.text));
        } else {
          sse.write(chunks.finish(event.finishReason));
          const usage = chunks.usage(event.usage);
          if (usage) sse.write(usage);
          sse.write(DONE);
        }
      }
    } catch (err) {
      // Headers are gone: OpenAI reports a mid-stream failure as an error event.
      const failure = toHttpError(err);
      request.log.error({ err, code: failure.code }, 'generation failed mid-stream');
      sse.send({ data: openAIErrorBody(failure) });
    } finally {
      sse.end();
    }
    return reply;
  } finally {
    lease.release();
  }
}
