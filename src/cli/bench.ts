/**
 * `forja bench`: runs the benchmarks of bench/ and writes one JSON report; with `--compare` it is a
 * regression gate (exit 1 when a ratio fell below the baseline by more than the tolerance).
 * `forja bench load` (bench-load.ts) drives a running server against SLOs.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { compareRatios, describeRegressions, parseTolerance, ratiosOf } from '../benchmarking/compare.js';
import { benchmarksMissing, parseOnly, runBenchmarks } from '../benchmarking/report.js';
import { collectTargets, formatTargets } from '../benchmarking/targets.js';
import { registerBenchLoadCommand } from './bench-load.js';

interface BenchFlags {
  quick?: boolean;
  only?: string;
  out: string;
  compare?: string;
  tolerance: string;
  strict?: boolean;
}

export function registerBenchCommand(program: Command): void {
  const bench = program
    .command('bench')
    .description('run the benchmarks (serving, llm, jobs, streaming), write one JSON report, optionally gate on a baseline')
    .option('--quick', 'short runs that fit in CI')
    .option('--only <names>', 'comma-separated benchmarks to run (serving,llm,jobs,streaming)')
    .option('-o, --out <file>', 'where to write the report', 'bench/results/report.json')
    .option('--compare <baseline>', 'a previous report; exit 1 when a ratio regressed beyond the tolerance')
    .option('--tolerance <pct>', 'allowed drop of a ratio before it counts as a regression', '10%')
    .option('--strict', 'exit 1 when any target of the report is not met')
    .action(async (flags: BenchFlags) => {
      process.exitCode = await runBench(flags);
    });
  registerBenchLoadCommand(bench);
}

async function runBench(flags: BenchFlags): Promise<number> {
  const missing = benchmarksMissing();
  if (missing) {
    process.stderr.write(`forja bench: ${missing}\n`);
    return 1;
  }
  const names = parseOnly(flags.only);
  const tolerance = parseTolerance(flags.tolerance);
  // Read the baseline before spending minutes on benchmarks, so a wrong path fails at once.
  const baseline = flags.compare ? ratiosOf(readJson(flags.compare)) : undefined;

  const run = await runBenchmarks(names, { quick: flags.quick ?? false, onStart: (name) => process.stderr.write(`forja bench: running ${name}${flags.quick ? ' (quick)' : ''}\n`) });
  const targets = collectTargets(run.benchmarks);
  const report = { ...run, targets };
  const out = path.resolve(flags.out);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  process.stderr.write(formatTargets(targets));

  let code = 0;
  for (const [name, message] of Object.entries(report.errors ?? {})) {
    process.stderr.write(`forja bench: ${name} failed: ${message}\n`);
    code = 1;
  }
  const unmet = targets.filter((t) => !t.met);
  const summary: Record<string, unknown> = { report: out, seconds: report.seconds, ratios: report.ratios, targets: { met: targets.length - unmet.length, unmet: unmet.map((t) => t.path) } };
  if (flags.strict && unmet.length > 0) {
    process.stderr.write(`forja bench: --strict: ${unmet.length} of ${targets.length} targets not met\n`);
    code = 1;
  }
  if (baseline) {
    const comparison = compareRatios(baseline, report.ratios, tolerance, names.filter((n) => !report.errors?.[n]));
    summary.comparison = { baseline: path.resolve(flags.compare!), ...comparison };
    for (const line of describeRegressions(comparison)) process.stderr.write(`forja bench: ${line}\n`);
    for (const missing of comparison.missing) process.stderr.write(`forja bench: not measured in this run: ${missing}\n`);
    if (comparison.regressions.length > 0) code = 1;
    else process.stderr.write(`forja bench: no regression in ${comparison.compared} ratio figures (tolerance ${flags.tolerance})\n`);
  }
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  return code;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read baseline ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`baseline ${file} is not JSON: ${(err as Error).message}`);
  }
}
