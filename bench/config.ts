/**
 * Config load and validate times, printing JSON. A hot reload runs both on the server's event loop,
 * so they bound how long a reload can stall requests. Targets: load < 500 ms, validate < 100 ms.
 *   load:     loadConfig() of a realistic forja.yaml with a FORJA_ENV overlay and env overrides
 *             (file reads, YAML parse, merge, zod validation, freeze);
 *   validate: validateConfig() of an already-parsed object (zod only);
 *   diff:     diffing two configs and classifying the changes, as a reload does.
 * Median of many runs after a warm-up. Usage: node dist/bench/config.js [--runs 500] [--quick]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig, validateConfig } from '../src/config/load.js';
import { classifyChanges, diffConfigs } from '../src/config/reload.js';
import { median, percentile, round } from '../src/telemetry/stats.js';

const QUICK = process.argv.includes('--quick');
const i = process.argv.indexOf('--runs');
const RUNS = i > 0 ? Number(process.argv[i + 1]) : QUICK ? 100 : 500;

const YAML = `server:
  host: 127.0.0.1
  port: 8080
  body_limit_bytes: 67108864
  access_log: false
models:
  dir: ./models
  load: lazy
  keep_alive: 300
  max_batch_size: 16
  max_queue_delay_ms: 2
  max_queue_size: 2048
  execution_providers: [cpu]
  timeout_ms: 10000
pipelines:
  backend: sqlite
log:
  level: info
slo:
  p95_ms: 50
`;

function time(fn: () => unknown): number[] {
  for (let k = 0; k < Math.min(50, RUNS); k++) fn();
  const samples: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return samples.sort((a, b) => a - b);
}

const stat = (sorted: number[]) => ({
  median_ms: round(median(sorted)),
  p99_ms: round(percentile(sorted, 99)),
});

const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-bench-config-'));
try {
  const file = path.join(dir, 'forja.yaml');
  writeFileSync(file, YAML);
  writeFileSync(path.join(dir, 'forja.prod.yaml'), 'models:\n  max_batch_size: 32\nlog:\n  level: warn\n');
  const env = { FORJA_ENV: 'prod', FORJA_MODELS__TIMEOUT_MS: '20000' };
  const parsed = parseYaml(YAML) as Record<string, unknown>;
  const a = loadConfig({ file, env, cwd: dir }).config;
  const b = loadConfig({ file, env: { ...env, FORJA_SERVER__PORT: '9090' }, cwd: dir }).config;

  const load = stat(time(() => loadConfig({ file, env, cwd: dir })));
  const validate = stat(time(() => validateConfig(parsed)));
  const diff = stat(time(() => classifyChanges(diffConfigs(a, b))));
  process.stdout.write(JSON.stringify({
    bench: 'config',
    quick: QUICK,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
    runs: RUNS,
    statistic: 'median',
    load,
    validate,
    diff_and_classify: diff,
    targets: { load_ms: '< 500', validate_ms: '< 100' },
    met: { load: load.median_ms < 500, validate: validate.median_ms < 100 },
  }, null, 2) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
