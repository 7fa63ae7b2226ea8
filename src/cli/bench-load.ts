/**
 * `forja bench load`: drives a running server's v2 infer endpoint at a concurrency or a rate for a
 * while, prints p50/p95/p99, error rate and throughput as JSON next to the SLOs (config `slo`
 * section, overridden by flags), and exits 1 when an SLO fails.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { runLoad } from '../benchmarking/load.js';
import { describeSlo, evaluateSlo, type SloTargets } from '../benchmarking/slo.js';
import { authHeaders, refusal, request, serverTarget, withServerOptions, type ServerFlags } from './server-client.js';

interface LoadFlags {
  url?: string;
  apiKey?: string;
  model: string;
  modelVersion?: string;
  body?: string;
  concurrency?: number;
  rate?: number;
  duration: number;
  maxRequests?: number;
  timeoutMs: number;
  config?: string;
  sloP95Ms?: number;
  sloP99Ms?: number;
  sloErrorRate?: number;
}

const positive = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a number > 0`);
  return n;
};
const integer = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be an integer >= 1`);
  return n;
};
const fraction = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('must be a fraction between 0 and 1 (0.01 = 1%)');
  return n;
};

export function registerBenchLoadCommand(bench: Command): void {
  withServerOptions(bench
    .command('load')
    .description('load a running server (v2 infer) and check latency and errors against SLOs'))
    .requiredOption('--model <name>', 'model to infer on')
    .option('--model-version <v>', 'model version (default: the model\'s default)')
    .option('--body <file>', 'request body (JSON) instead of one built from the model\'s metadata')
    .option('--concurrency <n>', 'closed loop: this many clients', integer('concurrency'))
    .option('--rate <r>', 'open loop: requests per second', positive('rate'))
    .option('--duration <s>', 'seconds to run', positive('duration'), 10)
    .option('--max-requests <n>', 'stop after this many requests', integer('max-requests'))
    .option('--timeout-ms <ms>', 'a request unanswered this long counts as an error', positive('timeout'), 10_000)
    .option('-c, --config <file>', 'config file whose slo section holds the objectives (default ./forja.yaml when present)')
    .option('--slo-p95-ms <ms>', 'p95 latency ceiling (overrides slo.p95_ms)', positive('p95'))
    .option('--slo-p99-ms <ms>', 'p99 latency ceiling (overrides slo.p99_ms)', positive('p99'))
    .option('--slo-error-rate <f>', 'error rate ceiling, 0.01 = 1% (overrides slo.error_rate)', fraction)
    .action(async (flags: LoadFlags) => {
      process.exitCode = await load(flags);
    });
}

async function load(flags: LoadFlags): Promise<number> {
  if (flags.concurrency !== undefined && flags.rate !== undefined) throw new Error('give --concurrency or --rate, not both');
  const concurrency = flags.rate === undefined ? (flags.concurrency ?? 1) : undefined;
  const { config } = loadConfig({ file: flags.config });
  const slo: SloTargets = {
    p95_ms: flags.sloP95Ms ?? config.slo.p95_ms,
    p99_ms: flags.sloP99Ms ?? config.slo.p99_ms,
    error_rate: flags.sloErrorRate ?? config.slo.error_rate,
  };
  const target = serverTarget(flags);
  const base = target.url;
  const modelPath = `/v2/models/${encodeURIComponent(flags.model)}${flags.modelVersion ? `/versions/${encodeURIComponent(flags.modelVersion)}` : ''}`;
  const body = flags.body ? readFileSync(flags.body, 'utf8') : JSON.stringify(await bodyFromMetadata(target, modelPath, flags.model));

  const result = await runLoad({
    url: `${base}${modelPath}/infer`,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...authHeaders(target) },
    concurrency,
    rate: flags.rate,
    durationS: flags.duration,
    maxRequests: flags.maxRequests,
    timeoutMs: flags.timeoutMs,
  });
  const verdict = evaluateSlo(result, slo);
  process.stdout.write(JSON.stringify({ url: base, model: flags.model, ...result, slo: { targets: slo, ...verdict } }, null, 2) + '\n');
  for (const line of describeSlo(verdict)) process.stderr.write(`forja bench load: ${line}\n`);
  return verdict.pass ? 0 : 1;
}

interface TensorMeta { name: string; datatype: string; shape: number[] }

/** A request of ones (false/"" for BOOL/BYTES) shaped like each input, dynamic dimensions set to 1. */
export async function bodyFromMetadata(target: ServerFlags, modelPath: string, model: string): Promise<{ inputs: Array<TensorMeta & { data: unknown[] }> }> {
  const res = await request(target, modelPath);
  const text = await res.text();
  if (res.status === 404) throw new Error(`model '${model}' not found on ${target.url}: ${text}`);
  if (!res.ok) {
    let body: unknown;
    try { body = JSON.parse(text); } catch { body = { error: text }; }
    throw refusal(target, res.status, body, res.statusText);
  }
  const meta = JSON.parse(text) as { inputs?: TensorMeta[] };
  if (!meta.inputs?.length) throw new Error(`model '${model}' has no tensor inputs (a language model?); give a request with --body`);
  return {
    inputs: meta.inputs.map((input) => {
      const shape = input.shape.map((d) => (d < 0 ? 1 : d));
      const size = shape.reduce((a, b) => a * b, 1);
      const fill = input.datatype === 'BOOL' ? false : input.datatype === 'BYTES' ? '' : 1;
      return { name: input.name, datatype: input.datatype, shape, data: new Array<unknown>(size).fill(fill) };
    }),
  };
}
