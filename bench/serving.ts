/**
 * Serving benchmark. Prints one JSON document:
 * - latency: infer p50/p99 over HTTP keep-alive with 1 client, vs onnxruntime-node called directly in
 *   process, vs a bare node:http server that reads the same body (the floor).
 *   Target: p50(forja) - p50(direct) <= p50(floor) + 0.1 ms.
 * - batching: 16 concurrent clients on batchable models sending batch-1 binary requests, items/s and the
 *   server's CPU time per item, Forja in its default settings (then a few others, and batching off),
 *   vs onnxruntime called directly at its best batch size and thread count, measured in the same round.
 *   Targets: items/s >= 0.8x direct best; server CPU per item <= 1.18x direct best's.
 * Servers run as child processes, the client here, as a user's would. `--quick` shortens every phase.
 */
import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { Pool } from 'undici';
import { benchRepo } from './lib/model-repo.js';
import { processCpuMs, startListening, type Child } from './lib/processes.js';
import { median, percentile, round } from '../src/telemetry/stats.js';
import { writeAddModel, writeMlpModel } from '../support/onnx-models.js';

const QUICK = process.argv.includes('--quick');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const SHARED = path.resolve(ROOT, '../shared/models/onnx');

const LATENCY_REQUESTS = QUICK ? 300 : 2000;
const LATENCY_ROUNDS = QUICK ? 1 : 3;
const LOAD_SECONDS = QUICK ? 1 : 3;
const CLIENTS = 16;
const BATCH_ROUNDS = QUICK ? 1 : 3;
const THROUGHPUT_RATIO = 0.8;
/** Server CPU per item may be at most this many times the direct best's. */
const CPU_RATIO = 1.18;

interface ModelCase {
  name: string;
  file: string;
  input: string;
  /** Shape of one item, without the batch dimension. */
  item: number[];
  maxBatch: number;
  /** The model the batching targets are stated for (PP-OCR's classifier when present); others report figures only. */
  targets?: boolean;
}

function makeRepo(): { dir: string; latencyModel: ModelCase; batchModels: ModelCase[] } {
  const { dir, put } = benchRepo('forja-bench-');
  const mnist = path.join(SHARED, 'mnist-8.onnx');
  const latencyModel: ModelCase = existsSync(mnist)
    ? { name: 'mnist', file: put('mnist', (f) => copyFileSync(mnist, f)), input: 'Input3', item: [1, 28, 28], maxBatch: 1 }
    : { name: 'add', file: put('add', (f) => writeAddModel(f, { width: 784 })), input: 'A', item: [784], maxBatch: 1 };
  const batchModels: ModelCase[] = [
    { name: 'mlp', file: put('mlp', (f) => writeMlpModel(f, { inputs: 256, hidden: 1024, outputs: 16, seed: 1 })), input: 'x', item: [256], maxBatch: 32 },
  ];
  const cls = path.join(SHARED, 'ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx');
  if (existsSync(cls)) batchModels.push({ name: 'ppocr_cls', file: put('ppocr_cls', (f) => copyFileSync(cls, f)), input: 'x', item: [3, 48, 192], maxBatch: 32, targets: true });
  return { dir, latencyModel, batchModels };
}

const itemSize = (m: ModelCase) => m.item.reduce((a, b) => a * b, 1);
const values = (n: number) => Array.from({ length: n }, (_, i) => (i % 255) / 255);

// ---------- latency ----------

async function directLatency(model: ModelCase): Promise<number[]> {
  const session = await ort.InferenceSession.create(model.file, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', extra: { session: { intra_op: { allow_spinning: '0' } } } });
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of session.inputNames) feeds[input] = new ort.Tensor('float32', Float32Array.from(values(itemSize(model))), [1, ...model.item]);
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_REQUESTS + 100; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    if (i >= 100) samples.push(performance.now() - t0);
  }
  await session.release();
  return samples;
}

async function httpLatency(url: string, urlPath: string, body: string): Promise<number[]> {
  const pool = new Pool(url, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_REQUESTS + 100; i++) {
    const t0 = performance.now();
    const res = await pool.request({ method: 'POST', path: urlPath, body, headers: { 'content-type': 'application/json' } });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${urlPath} answered ${res.statusCode}`);
    if (i >= 100) samples.push(performance.now() - t0);
  }
  await pool.close();
  return samples;
}

async function latency(repoDir: string, model: ModelCase) {
  const inputs = model.name === 'add' ? ['A', 'B'] : [model.input];
  const body = JSON.stringify({ inputs: inputs.map((name) => ({ name, shape: [1, ...model.item], datatype: 'FP32', data: values(itemSize(model)) })) });
  const floor = await startListening(process.execPath, [path.join(HERE, 'fixtures/bare-http-server.js')]);
  const forja = await startForja(repoDir, {});
  const rounds: Array<{ direct: number[]; floor: number[]; forja: number[] }> = [];
  try {
    for (let r = 0; r < LATENCY_ROUNDS; r++) {
      rounds.push({
        direct: await directLatency(model),
        floor: await httpLatency(floor.url, '/', body),
        forja: await httpLatency(forja.url, `/v2/models/${model.name}/infer`, body),
      });
    }
  } finally {
    await Promise.all([floor.stop(), forja.stop()]);
  }
  const stat = (key: 'direct' | 'floor' | 'forja', p: number) => round(median(rounds.map((x) => percentile(x[key], p))));
  const result = {
    model: model.name,
    body_bytes: body.length,
    requests_per_round: LATENCY_REQUESTS,
    rounds: LATENCY_ROUNDS,
    direct_ms: { p50: stat('direct', 50), p99: stat('direct', 99) },
    bare_http_floor_ms: { p50: stat('floor', 50), p99: stat('floor', 99) },
    forja_ms: { p50: stat('forja', 50), p99: stat('forja', 99) },
  };
  const added = round(result.forja_ms.p50 - result.direct_ms.p50);
  const limit = round(result.bare_http_floor_ms.p50 + 0.1);
  return {
    ...result,
    target: `${model.name} p50 of (HTTP infer - direct call) <= the bare node:http round trip of the same body + 0.10 ms`,
    figure: added,
    peer: result.bare_http_floor_ms.p50,
    // Higher is better, like every ratio the regression gate compares: the allowance over the figure.
    ratio: round(limit / Math.max(added, 0.001)),
    limit,
    added_p50_ms: added,
    over_floor_p50_ms: round(result.forja_ms.p50 - result.bare_http_floor_ms.p50),
    met: added <= result.bare_http_floor_ms.p50 + 0.1,
  };
}

// ---------- batching ----------

interface DirectRun { threads: number; batch: number; items_per_s: number; cpu_ms_per_item: number }

/** onnxruntime called directly (default spinning, as a user calling it would), every thread count and batch size. */
async function directSweep(model: ModelCase): Promise<{ best: DirectRun; runs: DirectRun[] }> {
  const runs: DirectRun[] = [];
  for (const threads of [1, 2]) {
    const session = await ort.InferenceSession.create(model.file, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
    for (const batch of [1, 4, 8, 16, 32]) {
      const tensor = new ort.Tensor('float32', new Float32Array(batch * itemSize(model)).fill(0.5), [batch, ...model.item]);
      await session.run({ [model.input]: tensor });
      let items = 0;
      const end = performance.now() + LOAD_SECONDS * 400;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      while (performance.now() < end) {
        await session.run({ [model.input]: tensor });
        items += batch;
      }
      const cpu = process.cpuUsage(cpu0);
      runs.push({ threads, batch, items_per_s: round(items / ((performance.now() - t0) / 1000), 1), cpu_ms_per_item: round((cpu.user + cpu.system) / 1000 / items) });
    }
    await session.release();
  }
  return { best: runs.reduce((best, r) => (r.items_per_s > best.items_per_s ? r : best)), runs };
}

function binaryRequest(model: ModelCase): { body: Buffer; headerLength: number } {
  const data = Buffer.from(new Float32Array(itemSize(model)).fill(0.5).buffer);
  const header = Buffer.from(JSON.stringify({
    inputs: [{ name: model.input, shape: [1, ...model.item], datatype: 'FP32', parameters: { binary_data_size: data.length } }],
    parameters: { binary_data_output: true },
  }));
  return { body: Buffer.concat([header, data]), headerLength: header.length };
}

interface LoadRun { items_per_s: number; errors: number; p50_ms: number; server_cpu_ms_per_item: number; server_cores: number; average_batch: number }

/** 16 clients for LOAD_SECONDS; the server's CPU from /proc and its batch sizes from the statistics extension. */
async function load(server: Child, model: ModelCase): Promise<LoadRun> {
  const { body, headerLength } = binaryRequest(model);
  const pool = new Pool(server.url, { connections: CLIENTS, pipelining: 1, keepAliveTimeout: 60_000 });
  const samples: number[] = [];
  let errors = 0;
  const send = async () => {
    const t0 = performance.now();
    const res = await pool.request({ method: 'POST', path: `/v2/models/${model.name}/infer`, body, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) } });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) errors++;
    return performance.now() - t0;
  };
  const counts = async () => {
    const stats = (await (await fetch(`${server.url}/v2/models/${model.name}/stats`)).json()) as { model_stats: Array<{ inference_count: number; execution_count: number }> };
    return stats.model_stats[0];
  };
  // warm-up
  await Promise.all(Array.from({ length: CLIENTS }, send));
  const before = await counts();
  const cpu0 = processCpuMs(server.pid);
  const t0 = performance.now();
  const end = t0 + LOAD_SECONDS * 1000;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (performance.now() < end) samples.push(await send());
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpuMs = processCpuMs(server.pid) - cpu0;
  const after = await counts();
  await pool.close();
  return {
    items_per_s: round(samples.length / seconds, 1),
    errors,
    p50_ms: round(percentile(samples, 50)),
    server_cpu_ms_per_item: round(cpuMs / samples.length),
    server_cores: round(cpuMs / 1000 / seconds),
    average_batch: round((after.inference_count - before.inference_count) / Math.max(1, after.execution_count - before.execution_count), 1),
  };
}

const DEFAULT_SETTING = 'default settings';

async function batching(repoDir: string, model: ModelCase) {
  const settings: Array<{ label: string; env: Record<string, string> }> = [
    { label: DEFAULT_SETTING, env: {} },
    { label: 'threads 2', env: { FORJA_MODELS__THREADS: '2' } },
    { label: 'instances 2', env: { FORJA_MODELS__INSTANCES: '2' } },
    { label: 'batching off', env: { FORJA_MODELS__MAX_BATCH_SIZE: '0' } },
  ];
  // Each round measures the direct peer and then every setting, so a ratio compares figures taken
  // minutes apart at most; the targets use the median of the rounds' ratios.
  const rounds: Array<{ direct: { best: DirectRun; runs: DirectRun[] }; runs: Array<{ setting: string } & LoadRun> }> = [];
  for (let r = 0; r < BATCH_ROUNDS; r++) {
    const direct = await directSweep(model);
    const runs: Array<{ setting: string } & LoadRun> = [];
    for (const setting of settings) {
      const forja = await startForja(repoDir, setting.env, model.name);
      try {
        runs.push({ setting: setting.label, ...(await load(forja, model)) });
      } finally {
        await forja.stop();
      }
    }
    rounds.push({ direct, runs });
  }
  const ratio = (r: (typeof rounds)[number], setting: string, key: 'items_per_s' | 'server_cpu_ms_per_item') => {
    const run = r.runs.find((x) => x.setting === setting)!;
    // Both higher-is-better, as the regression gate reads ratios: CPU is direct's over the server's.
    return key === 'items_per_s' ? run.items_per_s / r.direct.best.items_per_s : r.direct.best.cpu_ms_per_item / run.server_cpu_ms_per_item;
  };
  const medianOf = (setting: string, key: 'items_per_s' | 'server_cpu_ms_per_item') => round(median(rounds.map((r) => r.runs.find((x) => x.setting === setting)![key])), 3);
  const throughputRatio = round(median(rounds.map((r) => ratio(r, DEFAULT_SETTING, 'items_per_s'))));
  const cpuRatio = round(median(rounds.map((r) => ratio(r, DEFAULT_SETTING, 'server_cpu_ms_per_item'))));
  const directItems = round(median(rounds.map((r) => r.direct.best.items_per_s)), 1);
  const directCpu = round(median(rounds.map((r) => r.direct.best.cpu_ms_per_item)), 3);
  const offItems = medianOf('batching off', 'items_per_s');
  return {
    model: model.name,
    clients: CLIENTS,
    seconds: LOAD_SECONDS,
    rounds: BATCH_ROUNDS,
    direct_best: rounds[rounds.length - 1].direct.best,
    direct_sweep: rounds[rounds.length - 1].direct.runs,
    runs: settings.map((s) => ({
      setting: s.label,
      items_per_s: medianOf(s.label, 'items_per_s'),
      server_cpu_ms_per_item: medianOf(s.label, 'server_cpu_ms_per_item'),
      vs_direct_best: round(median(rounds.map((r) => ratio(r, s.label, 'items_per_s')))),
      rounds: rounds.map((r) => r.runs.find((x) => x.setting === s.label)!),
    })),
    ratio_vs_direct_best: throughputRatio,
    ratio_on_vs_off: round(medianOf(DEFAULT_SETTING, 'items_per_s') / offItems),
    targets: !model.targets ? [] : [
      {
        target: `${model.name}: items/s of ${CLIENTS} clients sending batch-1 binary requests, default settings >= ${THROUGHPUT_RATIO}x onnxruntime called directly at its best batch size and thread count`,
        figure: medianOf(DEFAULT_SETTING, 'items_per_s'),
        peer: directItems,
        ratio: throughputRatio,
        limit: THROUGHPUT_RATIO,
        met: throughputRatio >= THROUGHPUT_RATIO,
      },
      {
        target: `${model.name}: server CPU ms per item under that load, default settings <= ${CPU_RATIO}x the direct best's (ratio: direct's over the server's, >= ${round(1 / CPU_RATIO)})`,
        figure: medianOf(DEFAULT_SETTING, 'server_cpu_ms_per_item'),
        peer: directCpu,
        ratio: cpuRatio,
        limit: round(1 / CPU_RATIO),
        met: cpuRatio >= 1 / CPU_RATIO,
      },
    ],
  };
}

async function startForja(repoDir: string, env: Record<string, string>, only?: string): Promise<Child> {
  const config = path.join(repoDir, `forja-${process.hrtime.bigint()}.yaml`);
  writeFileSync(config, `models:\n  dir: ${JSON.stringify(repoDir)}\n  load: ${only ? 'lazy' : 'eager'}\nlog:\n  level: warn\n`);
  const child = await startListening(process.execPath, [CLI, 'serve', '--config', config, '--port', '0'], env);
  if (only) {
    const res = await fetch(`${child.url}/v2/repository/models/${only}/load`, { method: 'POST' });
    if (res.status !== 200) throw new Error(`cannot load ${only}: ${await res.text()}`);
  }
  return child;
}

async function main(): Promise<void> {
  const { dir, latencyModel, batchModels } = makeRepo();
  try {
    const report = {
      benchmark: 'serving',
      quick: QUICK,
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, onnxruntime: ort.env.versions?.common ?? 'unknown' },
      latency: await latency(dir, latencyModel),
      batching: [] as unknown[],
    };
    for (const model of batchModels) report.batching.push(await batching(dir, model));
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
