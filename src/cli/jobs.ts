/**
 * `forja jobs list|show|submit|cancel|retry`: talks to a running server's jobs API (--url or
 * FORJA_URL, --api-key or FORJA_API_KEY) and prints a table or a summary for people, JSON with --json.
 */
import { Command, InvalidArgumentError } from 'commander';
import { callJson, serverTarget, withServerOptions, type ServerFlags } from './server-client.js';

interface Flags { url?: string; apiKey?: string; json?: boolean }

interface StepView { name: string; state: string; attempts: number; durationMs?: number; error?: { message: string } }
interface JobView {
  id: string; pipeline: string; state: string; attempts: number; createdAt: string; startedAt?: string; finishedAt?: string;
  durationMs?: number; progress?: number; progressMessage?: string; result?: unknown; error?: { message: string; step?: string };
  steps?: StepView[];
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

/** Columns padded to their widest cell; the last column is left unpadded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const duration = (ms: number | undefined) => (ms === undefined ? '' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

export function describeJob(job: JobView): string {
  const lines: [string, string][] = [
    ['job', job.id],
    ['pipeline', job.pipeline],
    ['state', `${job.state} (attempts ${job.attempts})`],
    ['created', job.createdAt],
  ];
  if (job.startedAt) lines.push(['started', job.startedAt]);
  if (job.finishedAt) lines.push(['finished', `${job.finishedAt} (${duration(job.durationMs)})`]);
  if (job.progress !== undefined) lines.push(['progress', `${Math.round(job.progress * 100)}%${job.progressMessage ? ` ${job.progressMessage}` : ''}`]);
  if (job.result !== undefined) lines.push(['result', JSON.stringify(job.result)]);
  if (job.error) lines.push(['error', `${job.error.message}${job.error.step ? ` (step ${job.error.step})` : ''}`]);
  const out = lines.map(([k, v]) => `${k.padEnd(9)}${v}`);
  if (job.steps?.length) {
    out.push('', table(['STEP', 'STATE', 'ATTEMPTS', 'DURATION', 'ERROR'], job.steps.map((s) => [s.name, s.state, String(s.attempts), duration(s.durationMs), s.error?.message ?? ''])));
  }
  return out.join('\n');
}

export function registerJobsCommands(program: Command): void {
  const jobs = program.command('jobs').description('inspect and control pipeline jobs on a running server (FORJA_URL, FORJA_API_KEY)');
  const command = (spec: string, description: string) => withServerOptions(jobs.command(spec).description(description));
  const target = (o: Flags): ServerFlags => serverTarget(o);

  command('list', 'list jobs, newest first')
    .option('--pipeline <name>', 'only this pipeline')
    .option('--state <state>', 'queued | running | succeeded | failed | cancelled')
    .option('--limit <n>', 'page size', positiveInt, 20)
    .option('--cursor <cursor>', 'next page, from a previous listing')
    .option('--json', 'print JSON')
    .action(async (o: Flags & { pipeline?: string; state?: string; limit: number; cursor?: string }) => {
      const q = new URLSearchParams({ limit: String(o.limit) });
      if (o.pipeline) q.set('pipeline', o.pipeline);
      if (o.state) q.set('state', o.state);
      if (o.cursor) q.set('cursor', o.cursor);
      const page = await callJson(target(o), 'GET', `/api/jobs?${q}`) as { jobs: JobView[]; next_cursor: string | null };
      if (o.json) return print(page);
      if (page.jobs.length === 0) return console.log('no jobs');
      console.log(table(['ID', 'PIPELINE', 'STATE', 'ATTEMPTS', 'CREATED', 'ERROR'], page.jobs.map((j) => [j.id, j.pipeline, j.state, String(j.attempts), j.createdAt, j.error?.message ?? ''])));
      if (page.next_cursor) console.log(`next page: --cursor ${page.next_cursor}`);
    });

  command('show <id>', 'a job with its steps, timing, progress, result or error')
    .option('--json', 'print JSON')
    .action(async (id: string, o: Flags) => {
      const job = await callJson(target(o), 'GET', `/api/jobs/${encodeURIComponent(id)}`) as JobView;
      console.log(o.json ? JSON.stringify(job, null, 2) : describeJob(job));
    });

  command('submit <pipeline>', 'enqueue a job; prints its id')
    .option('--input <json>', 'job input (JSON)', jsonValue)
    .option('--idempotency-key <key>', 'return the existing job for a key already used')
    .option('--json', 'print JSON')
    .action(async (pipeline: string, o: Flags & { input?: unknown; idempotencyKey?: string }) => {
      const out = await callJson(target(o), 'POST', '/api/jobs', { pipeline, input: o.input ?? {}, idempotencyKey: o.idempotencyKey }) as { id: string; state: string; duplicate: boolean };
      console.log(o.json ? JSON.stringify(out, null, 2) : `${out.id} ${out.duplicate ? 'already submitted' : out.state}`);
    });

  command('cancel <id>', 'cancel a queued or running job')
    .option('--json', 'print JSON')
    .action(async (id: string, o: Flags) => {
      const job = await callJson(target(o), 'POST', `/api/jobs/${encodeURIComponent(id)}/cancel`) as JobView;
      console.log(o.json ? JSON.stringify(job, null, 2) : `${job.id} ${job.state}`);
    });

  command('retry <id>', 'run a failed or cancelled job again (completed steps are kept)')
    .option('--json', 'print JSON')
    .action(async (id: string, o: Flags) => {
      const job = await callJson(target(o), 'POST', `/api/jobs/${encodeURIComponent(id)}/retry`) as JobView;
      console.log(o.json ? JSON.stringify(job, null, 2) : `${job.id} ${job.state}`);
    });
}
