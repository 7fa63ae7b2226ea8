/**
 * A chat completion for a caller inside this process (a pipeline's ctx.chat): validated by the same
 * schema as POST /v1/chat/completions and answered with the same `chat.completion` object, for GGUF
 * models run here and for external backends (whose own answer is returned as they sent it).
 */
import { errors, ForjaError } from '../../errors.js';
import type { ChatCompletion } from '../../pipelines/model-calls.js';
import { asLanguageModel } from './generation-route.js';
import type { OpenAIModelSource } from './model-source.js';
import { parseChatCompletion } from './request-schemas.js';
import { completionBody, newIdentity } from './response-shapes.js';

export async function chatCompletion(models: Pick<OpenAIModelSource, 'acquire'>, model: string, request: unknown, signal?: AbortSignal): Promise<ChatCompletion> {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) throw errors.REQUEST_INVALID('the chat request must be an object with messages');
  const fields = request as Record<string, unknown>;
  if (fields.model !== undefined && fields.model !== model) throw errors.REQUEST_INVALID(`the request names model '${String(fields.model)}' but the call is for '${model}'; leave model out of the request`, { param: 'model' });
  if (fields.stream) throw errors.REQUEST_INVALID('stream is not available here: the call answers once, with the whole completion', { param: 'stream' });
  const body = { ...fields, model, stream: false };
  const parsed = parseChatCompletion(body);
  const lease = await models.acquire(model);
  try {
    const llm = asLanguageModel(lease.model, model);
    if (llm.backend === 'external') return await forwardChat(llm, body, signal ?? new AbortController().signal);
    const result = await llm.complete(parsed.generation, signal);
    return completionBody('chat', newIdentity('chat', model), result.text, result.finishReason, result.usage) as unknown as ChatCompletion;
  } finally {
    lease.release();
  }
}

async function forwardChat(llm: Extract<ReturnType<typeof asLanguageModel>, { backend: 'external' }>, body: Record<string, unknown>, signal: AbortSignal): Promise<ChatCompletion> {
  let upstream: Response;
  try {
    upstream = await llm.forward('/chat/completions', body, signal);
  } catch (err) {
    if (err instanceof ForjaError) throw err;
    throw errors.UPSTREAM_FAILED(`the upstream server did not answer: ${(err as Error).message}`, { cause: err });
  }
  const text = await upstream.text();
  let answer: unknown;
  try { answer = JSON.parse(text); } catch { answer = undefined; }
  if (!upstream.ok) {
    const message = (answer as { error?: { message?: unknown } } | undefined)?.error?.message;
    // The upstream's own 4xx (a context too long, a bad parameter) is the caller's mistake, as over HTTP.
    if (upstream.status < 500 && typeof message === 'string') throw errors.REQUEST_INVALID(`the upstream server refused the request (${upstream.status}): ${message}`);
    throw errors.UPSTREAM_FAILED(`the upstream server answered ${upstream.status}: ${text.slice(0, 300)}`);
  }
  const choices = (answer as { choices?: unknown } | undefined)?.choices;
  if (!Array.isArray(choices)) throw errors.UPSTREAM_FAILED(`the upstream server's answer is not a chat completion: ${text.slice(0, 300)}`);
  return answer as ChatCompletion;
}
