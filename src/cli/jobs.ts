/**
 * `forja jobs list|show|logs|submit|cancel|retry`: talks to a running server's jobs API (--url or
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

interface LogLine { seq: number; at: string; message: string; data?: unknown; truncated?: boolean }

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));
const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);
/** How often `jobs logs -f` looks for new lines and for the job's end. */
const FOLLOW_POLL_MS = 500;
const LOG_PAGE = 1000;

export function formatLogLine(line: LogLine): string {
  return `${line.at}  ${line.message}${line.data === undefined ? '' : `  ${JSON.stringify(line.data)}`}`;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer ≥ 0');
  return n;
}

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

  command('logs <id>', 'a job\'s stored log lines (ctx.log and step log); with -f, new lines until the job ends')
    .option('-f, --follow', 'keep printing new lines; exit when the job has ended')
    .option('--after <seq>', 'only lines after this seq (from --json output)', nonNegativeInt, 0)
    .option('--json', 'one JSON object per line')
    .action(async (id: string, o: Flags & { follow?: boolean; after: number }) => {
      const t = target(o);
      const jobPath = `/api/jobs/${encodeURIComponent(id)}`;
      let after = o.after;
      const printNew = async () => {
        for (;;) {
          const page = await callJson(t, 'GET', `${jobPath}/logs?after=${after}&limit=${LOG_PAGE}`) as { logs: LogLine[]; next_after: number };
          for (const line of page.logs) console.log(o.json ? JSON.stringify(line) : formatLogLine(line));
          after = page.next_after;
          if (page.logs.length < LOG_PAGE) return;
        }
      };
      if (!o.follow) return printNew();
      for (;;) {
        // The state is read before the lines: a job seen ended wrote all its lines before it ended.
        const job = await callJson(t, 'GET', jobPath) as JobView;
        await printNew();
        if (FINISHED.has(job.state)) {
          console.error(`job ${job.id} ${job.state}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      }
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
