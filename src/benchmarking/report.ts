/**
 * Runs the compiled benchmark scripts (dist/bench/<name>.js) as child processes, each printing one
 * JSON document, and merges them into one report. Each runs in its own process so that one
 * benchmark's servers, threads and heap do not colour the next one's figures.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractRatios, type RatioMap } from './compare.js';

export const BENCHMARKS = ['serving', 'llm', 'llm-conversation', 'jobs', 'streaming'] as const;
export type BenchmarkName = (typeof BENCHMARKS)[number];

/** dist/src/benchmarking/report.js → dist/bench */
export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench');

/**
 * The benchmarks need a checkout: they drive peers (raw onnxruntime, BullMQ, llama-server) with
 * development dependencies and generate their models with support/, none of which the npm package
 * ships. Undefined when they are there; otherwise what to do instead.
 */
export function benchmarksMissing(benchDir = BENCH_DIR): string | undefined {
  if (existsSync(benchDir)) return undefined;
  return `the benchmarks are not installed (${benchDir} does not exist): \`forja bench\` runs from a checkout of the Forja repository ` +
    '(git clone, then npm ci && npm run build && npx forja bench); the npm package does not ship them. ' +
    '`forja bench load --url <server> --model <name>` drives a running server and works from the package.';
}

export interface BenchReport {
  machine: { cpus: number; cpu: string | undefined; memory_bytes: number; node: string; platform: string; date: string; quick: boolean };
  benchmarks: Partial<Record<BenchmarkName, unknown>>;
  /** Every ratio figure of every benchmark by dotted path, `<benchmark>.<path>`. */
  ratios: RatioMap;
  /** Benchmarks that failed to run, with why. */
  errors?: Partial<Record<BenchmarkName, string>>;
  seconds: Partial<Record<BenchmarkName, number>>;
}

export function parseOnly(text: string | undefined): BenchmarkName[] {
  if (!text) return [...BENCHMARKS];
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!(BENCHMARKS as readonly string[]).includes(name)) throw new Error(`unknown benchmark '${name}' (known: ${BENCHMARKS.join(', ')})`);
  }
  return names as BenchmarkName[];
}

/** Runs one script; resolves with its parsed JSON. Its stderr is passed through so progress shows. */
export function runBenchmark(name: BenchmarkName, options: { quick: boolean; benchDir?: string }): Promise<unknown> {
  const script = path.join(options.benchDir ?? BENCH_DIR, `${name}.js`);
  if (!existsSync(script)) return Promise.reject(new Error(`${script} not found (build first: npx tsc -p tsconfig.json)`));
  const args = [script, ...(options.quick ? ['--quick'] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => { stdout += chunk; });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`${name} benchmark exited with ${signal ?? code}`));
      try {
        // The document is the last JSON object printed; anything before it is chatter from a library.
        resolve(JSON.parse(stdout.slice(stdout.indexOf('{'))));
      } catch (err) {
        reject(new Error(`${name} benchmark printed no JSON: ${(err as Error).message}`));
      }
    });
  });
}

export async function runBenchmarks(names: BenchmarkName[], options: { quick: boolean; benchDir?: string; onStart?: (name: BenchmarkName) => void }): Promise<BenchReport> {
  const report: BenchReport = {
    machine: {
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      memory_bytes: os.totalmem(),
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      date: new Date().toISOString(),
      quick: options.quick,
    },
    benchmarks: {},
    ratios: {},
    seconds: {},
  };
  // One after another, never in parallel: they would compete for the same cores.
  for (const name of names) {
    options.onStart?.(name);
    const t0 = performance.now();
    try {
      const result = await runBenchmark(name, options);
      report.benchmarks[name] = result;
      Object.assign(report.ratios, extractRatios(result, name));
    } catch (err) {
      (report.errors ??= {})[name] = (err as Error).message;
    }
    report.seconds[name] = Math.round((performance.now() - t0) / 100) / 10;
  }
  return report;
}
