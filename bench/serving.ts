/**
 * Serving benchmark. Prints one JSON document:
 * - latency: infer p50/p99 over HTTP keep-alive with 1 client, vs onnxruntime-node called directly in
 *   process, vs a bare node:http server that reads the same body (the floor).
 *   Target: p50(forja) - p50(direct) <= p50(floor) + 0.1 ms.
 * - batching: 16 concurrent clients on batchable models, items/s with batching on and off, for each
 *   thread/spinning setting, vs direct onnxruntime at its best batch size. Target: >= 0.8x direct best.
 * Servers run as child processes, the client here, as a user's would. `--quick` shortens every phase.
 */
import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { Pool } from 'undici';
import { benchRepo } from './lib/model-repo.js';
import { startListening, type Child } from './lib/processes.js';
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

interface ModelCase {
  name: string;
  file: string;
  input: string;
  /** Shape of one item, without the batch dimension. */
  item: number[];
  maxBatch: number;
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
  if (existsSync(cls)) batchModels.push({ name: 'ppocr_cls', file: put('ppocr_cls', (f) => copyFileSync(cls, f)), input: 'x', item: [3, 48, 192], maxBatch: 32 });
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
  return { ...result, added_p50_ms: added, target_added_p50_ms: round(result.bare_http_floor_ms.p50 + 0.1), met: added <= result.bare_http_floor_ms.p50 + 0.1, over_floor_p50_ms: round(result.forja_ms.p50 - result.bare_http_floor_ms.p50) };
}

// ---------- batching ----------

async function directBest(model: ModelCase) {
  const results: Array<{ threads: number; batch: number; items_per_s: number }> = [];
  for (const threads of [1, 2]) {
    const session = await ort.InferenceSession.create(model.file, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
    for (const batch of [1, 4, 8, 16, 32]) {
      const tensor = new ort.Tensor('float32', new Float32Array(batch * itemSize(model)).fill(0.5), [batch, ...model.item]);
      await session.run({ [model.input]: tensor });
      let items = 0;
      const end = performance.now() + LOAD_SECONDS * 400;
      const t0 = performance.now();
      while (performance.now() < end) {
        await session.run({ [model.input]: tensor });
        items += batch;
      }
      results.push({ threads, batch, items_per_s: round(items / ((performance.now() - t0) / 1000), 1) });
    }
    await session.release();
  }
  return results.reduce((best, r) => (r.items_per_s > best.items_per_s ? r : best));
}

function binaryRequest(model: ModelCase): { body: Buffer; headerLength: number } {
  const data = Buffer.from(new Float32Array(itemSize(model)).fill(0.5).buffer);
  const header = Buffer.from(JSON.stringify({
    inputs: [{ name: model.input, shape: [1, ...model.item], datatype: 'FP32', parameters: { binary_data_size: data.length } }],
    parameters: { binary_data_output: true },
  }));
  return { body: Buffer.concat([header, data]), headerLength: header.length };
}

async function load(url: string, model: ModelCase): Promise<{ items_per_s: number; errors: number; p50_ms: number }> {
  const { body, headerLength } = binaryRequest(model);
  const pool = new Pool(url, { connections: CLIENTS, pipelining: 1, keepAliveTimeout: 60_000 });
  const samples: number[] = [];
  let errors = 0;
  const send = async () => {
    const t0 = performance.now();
    const res = await pool.request({ method: 'POST', path: `/v2/models/${model.name}/infer`, body, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) } });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) errors++;
    return performance.now() - t0;
  };
  // warm-up
  await Promise.all(Array.from({ length: CLIENTS }, send));
  const t0 = performance.now();
  const end = t0 + LOAD_SECONDS * 1000;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (performance.now() < end) samples.push(await send());
  }));
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  return { items_per_s: round(samples.length / seconds, 1), errors, p50_ms: round(percentile(samples, 50)) };
}

async function batching(repoDir: string, model: ModelCase) {
  const direct = await directBest(model);
  const settings: Array<{ label: string; env: Record<string, string> }> = [];
  for (const threads of [1, 2]) {
    for (const spinning of [false, true]) {
      settings.push({ label: `batching on, threads ${threads}, spinning ${spinning ? 'on' : 'off'}`, env: { FORJA_MODELS__THREADS: String(threads), FORJA_MODELS__SPINNING: String(spinning), FORJA_MODELS__MAX_BATCH_SIZE: String(model.maxBatch) } });
    }
  }
  settings.push({ label: 'batching off, threads 1, spinning off', env: { FORJA_MODELS__THREADS: '1', FORJA_MODELS__SPINNING: 'false', FORJA_MODELS__MAX_BATCH_SIZE: '0' } });
  const runs: Array<{ setting: string; items_per_s: number; p50_ms: number; errors: number; vs_direct_best: number }> = [];
  for (const setting of settings) {
    const forja = await startForja(repoDir, setting.env, model.name);
    try {
      const r = await load(forja.url, model);
      runs.push({ setting: setting.label, ...r, vs_direct_best: round(r.items_per_s / direct.items_per_s) });
    } finally {
      await forja.stop();
    }
  }
  const on = runs.filter((r) => r.setting.startsWith('batching on'));
  const bestOn = on.reduce((a, b) => (b.items_per_s > a.items_per_s ? b : a));
  const off = runs.find((r) => r.setting.startsWith('batching off'))!;
  return {
    model: model.name,
    clients: CLIENTS,
    seconds: LOAD_SECONDS,
    direct_best: direct,
    runs,
    best_on: bestOn.setting,
    ratio_vs_direct_best: bestOn.vs_direct_best,
    ratio_on_vs_off: round(bestOn.items_per_s / off.items_per_s),
    met: bestOn.vs_direct_best >= 0.8 && bestOn.items_per_s > off.items_per_s,
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
