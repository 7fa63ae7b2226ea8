// A signed webhook arrives with a document URL -> fetch it -> ask the local chat model for a summary
// -> write the result to a file. Run: INGEST_SECRET=s3cret forja serve --pipelines examples/pipelines
// then POST /hooks/summarize-webhook with X-Hub-Signature-256 (see docs/pipelines.md).
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { definePipeline, NonRetryableError } from 'forja';

export default definePipeline({
  input: z.object({ url: z.string().url(), model: z.string().default('tiny-llm'), outDir: z.string().default('./summaries') }),
  webhook: { secretEnv: 'INGEST_SECRET' },
  retry: { attempts: 4, initialMs: 500, factor: 2, maxMs: 10_000 },
  timeoutMs: 5 * 60_000,
  concurrency: 4,
  async run(input, ctx) {
    const text = await ctx.step('fetch', async ({ signal }) => {
      const res = await fetch(input.url, { signal });
      // 4xx will not get better by retrying; 5xx and network errors are retried with backoff.
      if (res.status >= 400 && res.status < 500) throw new NonRetryableError(`GET ${input.url} answered ${res.status}`);
      if (!res.ok) throw new Error(`GET ${input.url} answered ${res.status}`);
      return (await res.text()).slice(0, 20_000);
    }, { timeoutMs: 15_000, retry: { attempts: 6 } });

    const summary = await ctx.step('summarize', async () => {
      const reply = await ctx.chat(input.model, {
        messages: [{ role: 'system', content: 'Summarize the document in three sentences.' }, { role: 'user', content: text }],
        max_tokens: 200,
      });
      return reply?.choices?.[0]?.message?.content ?? '';
    });

    const file = await ctx.step('write', async () => {
      await fs.mkdir(input.outDir, { recursive: true });
      const target = path.join(input.outDir, `${ctx.job.id}.json`);
      await fs.writeFile(target, JSON.stringify({ url: input.url, summary }, null, 2));
      return target;
    });
    return { file, chars: text.length };
  },
});
