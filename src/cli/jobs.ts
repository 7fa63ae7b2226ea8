/**
 * `forja jobs list|show|submit|cancel|retry`: talks to a running server's jobs API (--url) and prints
 * JSON (or a compact table for list).
 */
import { Command, InvalidArgumentError } from 'commander';

const DEFAULT_URL = process.env.FORJA_URL ?? 'http://127.0.0.1:8080';

async function call(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(new URL(path, base), {
    method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new Error(`${res.status} ${(data as { error?: string } | undefined)?.error ?? res.statusText}`);
  return data;
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function jsonValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('must be JSON');
  }
}

export function registerJobsCommands(program: Command): void {
  const jobs = program.command('jobs').description('inspect and control pipeline jobs on a running server');
  const withUrl = (c: Command) => c.option('--url <url>', 'server URL', DEFAULT_URL);

  withUrl(jobs.command('list').description('list jobs, newest first'))
    .option('--pipeline <name>', 'only this pipeline')
    .option('--state <state>', 'queued | running | succeeded | failed | cancelled')
    .option('--limit <n>', 'page size', positiveInt, 20)
    .option('--cursor <cursor>', 'next page, from a previous listing')
    .option('--json', 'print JSON')
    .action(async (o: { url: string; pipeline?: string; state?: string; limit: number; cursor?: string; json?: boolean }) => {
      const q = new URLSearchParams({ limit: String(o.limit) });
      if (o.pipeline) q.set('pipeline', o.pipeline);
      if (o.state) q.set('state', o.state);
      if (o.cursor) q.set('cursor', o.cursor);
      const page = await call(o.url, 'GET', `/api/jobs?${q}`) as { jobs: { id: string; pipeline: string; state: string; attempts: number; createdAt: string; error?: { message: string } }[]; next_cursor: string | null };
      if (o.json) return print(page);
      for (const j of page.jobs) console.log([j.id, j.pipeline, j.state, `attempts=${j.attempts}`, j.createdAt, j.error ? `error=${j.error.message}` : ''].join('\t').trimEnd());
      if (page.next_cursor) console.log(`next: --cursor ${page.next_cursor}`);
    });

  withUrl(jobs.command('show <id>').description('a job with its steps, timing, progress, result or error'))
    .action(async (id: string, o: { url: string }) => print(await call(o.url, 'GET', `/api/jobs/${encodeURIComponent(id)}`)));

  withUrl(jobs.command('submit <pipeline>').description('enqueue a job'))
    .option('--input <json>', 'job input (JSON)', jsonValue)
    .option('--idempotency-key <key>', 'return the existing job for a key already used')
    .action(async (pipeline: string, o: { url: string; input?: unknown; idempotencyKey?: string }) =>
      print(await call(o.url, 'POST', '/api/jobs', { pipeline, input: o.input ?? {}, idempotencyKey: o.idempotencyKey })));

  withUrl(jobs.command('cancel <id>').description('cancel a queued or running job'))
    .action(async (id: string, o: { url: string }) => print(await call(o.url, 'POST', `/api/jobs/${encodeURIComponent(id)}/cancel`)));

  withUrl(jobs.command('retry <id>').description('run a failed or cancelled job again (completed steps are kept)'))
    .action(async (id: string, o: { url: string }) => print(await call(o.url, 'POST', `/api/jobs/${encodeURIComponent(id)}/retry`)));
}
