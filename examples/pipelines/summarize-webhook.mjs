// A signed webhook arrives with a document URL -> fetch it -> ask a chat model of this server for a
// summary -> write the result to a file. Run, with a GGUF chat model in ./models (models/chat.gguf
// is served as "chat"):
//   INGEST_SECRET=s3cret SUMMARIZE_MODEL=chat forja serve --models ./models --pipelines examples/pipelines
// then POST /hooks/summarize-webhook with X-Hub-Signature-256 (see docs/pipelines.md). A delivery may
// also name the model itself: {"url": "...", "model": "chat"}.
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { definePipeline, NonRetryableError } from 'forja';

export default definePipeline({
  input: z.object({
    url: z.string().url(),
    model: z.string().min(1).optional(),
    outDir: z.string().default('./summaries'),
  }).refine((i) => Boolean(i.model ?? process.env.SUMMARIZE_MODEL), {
    path: ['model'],
    message: 'name the chat model to summarize with (a .gguf in the models directory): send "model" or set SUMMARIZE_MODEL on the server',
  }),
  webhook: { secretEnv: 'INGEST_SECRET' },
  retry: { attempts: 4, initialMs: 500, factor: 2, maxMs: 10_000 },
  timeoutMs: 5 * 60_000,
  concurrency: 4,
  async run(input, ctx) {
    const model = input.model ?? process.env.SUMMARIZE_MODEL;
    const text = await ctx.step('fetch', async ({ signal }) => {
      const res = await fetch(input.url, { signal });
      // 4xx will not get better by retrying; 5xx and network errors are retried with backoff.
      if (res.status >= 400 && res.status < 500) throw new NonRetryableError(`GET ${input.url} answered ${res.status}`);
      if (!res.ok) throw new Error(`GET ${input.url} answered ${res.status}`);
      return (await res.text()).slice(0, 20_000);
    }, { timeoutMs: 15_000, retry: { attempts: 6 } });

    const summary = await ctx.step('summarize', async () => {
      // The same request and the same chat.completion answer as POST /v1/chat/completions.
      const reply = await ctx.chat(model, {
        messages: [{ role: 'system', content: 'Summarize the document in three sentences.' }, { role: 'user', content: text }],
        max_tokens: 200,
        temperature: 0,
      });
      return reply.choices[0].message.content ?? '';
    });

    const file = await ctx.step('write', async () => {
      await fs.mkdir(input.outDir, { recursive: true });
      const target = path.join(input.outDir, `${ctx.job.id}.json`);
      await fs.writeFile(target, JSON.stringify({ url: input.url, model, summary }, null, 2));
      return target;
    });
    return { file, chars: text.length };
  },
});
