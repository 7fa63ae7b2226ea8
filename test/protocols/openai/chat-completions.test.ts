/** The official openai client against /v1/chat/completions: whole answers, streams, usage, stops. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { gguf, startLlmServer, type LlmServer } from './helpers/llm-server.js';

const CHATML = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

let server: LlmServer;
let client: OpenAI;

before(async () => {
  server = await startLlmServer();
  await server.load('tiny', gguf(server.dir, 'tiny.gguf', { chatTemplate: CHATML }));
  await server.load('plain', gguf(server.dir, 'plain.gguf'));
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
});
after(() => server.close());

test('a whole chat answer has the OpenAI shape and true token counts', async () => {
  const res = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hello' }], max_tokens: 8, temperature: 0 });
  assert.equal(res.object, 'chat.completion');
  assert.equal(res.model, 'tiny');
  assert.match(res.id, /^chatcmpl-/);
  assert.equal(res.choices.length, 1);
  assert.equal(res.choices[0].message.role, 'assistant');
  assert.equal(typeof res.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(res.choices[0].finish_reason));
  const usage = res.usage!;
  assert.ok(usage.completion_tokens >= 1 && usage.completion_tokens <= 8);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  // The prompt was rendered with the GGUF's ChatML template, so it counts more than the word itself.
  const model = server.source.models.get('tiny') as import('../../../src/inference/types.js').LanguageModel;
  assert.ok(usage.prompt_tokens > model.tokenize('hello').length + 4);
  assert.equal(model.info.chatTemplate, 'ChatML');
  assert.equal(server.source.leases, 0);
});

test('max_tokens reached gives finish_reason length with exactly that many tokens', async () => {
  const res = await client.chat.completions.create({ model: 'plain', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'the cat' }], max_completion_tokens: 5, temperature: 0 });
  // A random model rarely emits EOS in 5 tokens; when it does, the count is below 5 with 'stop'.
  if (res.choices[0].finish_reason === 'length') assert.equal(res.usage!.completion_tokens, 5);
  else assert.ok(res.usage!.completion_tokens < 5);
});

test('streaming sends role, content deltas, finish_reason, usage and [DONE] exactly as OpenAI does', async () => {
  const whole = await client.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: 'hello' }], max_tokens: 12, temperature: 0 });
  const stream = await client.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: 'hello' }], max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let role: string | undefined;
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | null | undefined;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.choices.length === 0) { usage = chunk.usage; continue; }
    role ??= chunk.choices[0].delta.role;
    text += chunk.choices[0].delta.content ?? '';
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  assert.equal(role, 'assistant');
  assert.ok(chunks >= 3);
  // Greedy: the streamed text is the whole answer's text.
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(finish, whole.choices[0].finish_reason);
  // The same counts; how many prompt tokens came from the prefix cache depends on what ran before.
  const counts = (u: OpenAI.CompletionUsage | null | undefined) => u && { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens };
  assert.deepEqual(counts(usage), counts(whole.usage));
  assert.equal(typeof usage?.prompt_tokens_details?.cached_tokens, 'number');
  assert.equal(server.source.leases, 0);
});

test('the raw stream is data: lines ending with data: [DONE]', async () => {
  const res = await fetch(`${server.baseURL}/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true, temperature: 0 }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const body = await res.text();
  const events = body.split('\n\n').filter(Boolean);
  assert.ok(events.every((e) => e.startsWith('data: ')));
  assert.equal(events.at(-1), 'data: [DONE]');
  for (const e of events.slice(0, -1)) assert.equal(JSON.parse(e.slice(6)).object, 'chat.completion.chunk');
});

test('a stop sequence ends the answer before it and is not sent', async () => {
  const free = await client.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: 'hello' }], max_tokens: 20, temperature: 0 });
  const text = free.choices[0].message.content ?? '';
  const stop = text.slice(3, 5);
  assert.ok(stop.length === 2, 'the free answer is long enough to cut');
  const cut = await client.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: 'hello' }], max_tokens: 20, temperature: 0, stop: [stop] });
  assert.equal(cut.choices[0].finish_reason, 'stop');
  assert.equal(cut.choices[0].message.content, text.slice(0, text.indexOf(stop)));
});

test('sampling with the same seed repeats; penalties are accepted', async () => {
  const ask = (seed: number) => client.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: 'hello' }], max_tokens: 10, temperature: 1.5, top_p: 0.9, seed, presence_penalty: 0.5, frequency_penalty: 0.5 });
  const [a, b] = [await ask(7), await ask(7)];
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
});

test('the next turn of a conversation reports the prompt tokens it reused as usage.prompt_tokens_details.cached_tokens', async () => {
  const history: OpenAI.ChatCompletionMessageParam[] = [{ role: 'system', content: 'you tell short stories about a cat' }, { role: 'user', content: 'tell me about the cat and the dog' }];
  const first = await client.chat.completions.create({ model: 'tiny', messages: history, max_tokens: 8, temperature: 0 });
  history.push({ role: 'assistant', content: first.choices[0].message.content ?? '' }, { role: 'user', content: 'and then what did the cat do' });
  const second = await client.chat.completions.create({ model: 'tiny', messages: history, max_tokens: 8, temperature: 0 });
  const cached = second.usage!.prompt_tokens_details!.cached_tokens!;
  // At least the system message and the first user turn come from the cache.
  assert.ok(cached >= first.usage!.prompt_tokens - 4, `cached ${cached} of ${second.usage!.prompt_tokens}; the first turn had ${first.usage!.prompt_tokens}`);
  assert.ok(cached < second.usage!.prompt_tokens);
});
