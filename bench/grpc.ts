/**
 * gRPC serving benchmark. Prints one JSON document:
 * - latency: mnist infer p50/p99 with 1 client over gRPC (raw and typed contents) and over REST
 *   (binary extension and JSON) against one Forja child, vs onnxruntime-node called directly, in
 *   interleaved rounds of one run. Target: gRPC raw's added p50 <= REST binary's added p50.
 * - throughput: the PP-OCR direction classifier with 16 gRPC clients (one connection each, raw
 *   tensors, batching on) vs direct onnxruntime at its best batch size, and 16 REST clients at the
 *   same setting. Target: >= 0.8x direct best.
 * Falls back to generated models when ../shared/models is absent. `--quick` shortens every phase.
 */
import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Pool } from 'undici';
import { benchRepo } from './lib/model-repo.js';
import { processCpuMs as cpuMs, startListening, type Child } from './lib/processes.js';
import { median, percentile, round } from '../src/telemetry/stats.js';
import { writeAddModel, writeMlpModel } from '../support/onnx-models.js';

const QUICK = process.argv.includes('--quick');
/** `--only latency` or `--only throughput` runs one phase. */
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const SHARED = path.resolve(ROOT, '../shared/models/onnx');
const PROTO = path.join(ROOT, 'proto');

const LATENCY_REQUESTS = QUICK ? 300 : 2000;
const LATENCY_ROUNDS = QUICK ? 1 : 3;
const LOAD_SECONDS = QUICK ? 1 : 3;
const CLIENTS = 16;

interface ModelCase { name: string; file: string; inputs: string[]; item: number[] }

const itemSize = (m: ModelCase) => m.item.reduce((a, b) => a * b, 1);
const values = (n: number) => Float32Array.from({ length: n }, (_, i) => (i % 255) / 255);

function makeRepo() {
  const { dir, put } = benchRepo('forja-bench-grpc-');
  const mnist = path.join(SHARED, 'mnist-8.onnx');
  const latencyModel: ModelCase = existsSync(mnist)
    ? { name: 'mnist', file: put('mnist', (f) => copyFileSync(mnist, f)), inputs: ['Input3'], item: [1, 28, 28] }
    : { name: 'add', file: put('add', (f) => writeAddModel(f, { width: 784 })), inputs: ['A', 'B'], item: [784] };
  const cls = path.join(SHARED, 'ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx');
  const loadModel: ModelCase = existsSync(cls)
    ? { name: 'ppocr_cls', file: put('ppocr_cls', (f) => copyFileSync(cls, f)), inputs: ['x'], item: [3, 48, 192] }
    : { name: 'mlp', file: put('mlp', (f) => writeMlpModel(f, { inputs: 256, hidden: 1024, outputs: 16, seed: 1 })), inputs: ['x'], item: [256] };
  return { dir, latencyModel, loadModel };
}

async function startForja(repoDir: string, env: Record<string, string>): Promise<Child & { grpc: string }> {
  const config = path.join(repoDir, `forja-${process.hrtime.bigint()}.yaml`);
  writeFileSync(config, `models:\n  dir: ${JSON.stringify(repoDir)}\nlog:\n  level: warn\n`);
  const child = await startListening(process.execPath, [CLI, 'serve', '--config', config, '--port', '0', '--grpc-port', '0'], env);
  if (!child.grpcAddress) throw new Error('the ready line names no grpc:// address');
  return { ...child, grpc: child.grpcAddress };
}

// ---------- clients ----------

type InferClient = grpc.Client & { ModelInfer: (req: object, cb: (err: grpc.ServiceError | null, res: any) => void) => void };

function grpcClient(address: string): InferClient {
  const pkg = grpc.loadPackageDefinition(loadSync('open_inference_grpc.proto', { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO] })) as any;
  // A local subchannel pool gives each client its own connection, as separate client processes would have.
  return new pkg.inference.GRPCInferenceService(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': -1 }) as InferClient;
}

const call = (client: InferClient, req: object) => new Promise<any>((resolve, reject) => client.ModelInfer(req, (err, res) => (err ? reject(err) : resolve(res))));

function grpcRequest(model: ModelCase, raw: boolean, batch = 1): object {
  const data = values(itemSize(model) * batch);
  const inputs = model.inputs.map((name) => ({ name, datatype: 'FP32', shape: [batch, ...model.item], ...(raw ? {} : { contents: { fp32_contents: Array.from(data) } }) }));
  return { model_name: model.name, inputs, raw_input_contents: raw ? model.inputs.map(() => Buffer.from(data.buffer)) : [] };
}

function restBinary(model: ModelCase): { body: Buffer; headers: Record<string, string> } {
  const data = Buffer.from(values(itemSize(model)).buffer);
  const header = Buffer.from(JSON.stringify({
    inputs: model.inputs.map((name) => ({ name, shape: [1, ...model.item], datatype: 'FP32', parameters: { binary_data_size: data.length } })),
    parameters: { binary_data_output: true },
  }));
  return { body: Buffer.concat([header, ...model.inputs.map(() => data)]), headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) } };
}

function restJson(model: ModelCase): { body: string; headers: Record<string, string> } {
  const data = Array.from(values(itemSize(model)));
  return { body: JSON.stringify({ inputs: model.inputs.map((name) => ({ name, shape: [1, ...model.item], datatype: 'FP32', data })) }), headers: { 'content-type': 'application/json' } };
}

async function timed(n: number, once: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n + 100; i++) {
    const t0 = performance.now();
    await once();
    if (i >= 100) samples.push(performance.now() - t0);
  }
  return samples;
}

// ---------- latency ----------

async function directLatency(model: ModelCase): Promise<number[]> {
  const session = await ort.InferenceSession.create(model.file, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', extra: { session: { intra_op: { allow_spinning: '0' } } } });
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of session.inputNames) feeds[input] = new ort.Tensor('float32', values(itemSize(model)), [1, ...model.item]);
  const samples = await timed(LATENCY_REQUESTS, async () => {
    await session.run(feeds);
  });
  await session.release();
  return samples;
}

async function latency(repoDir: string, model: ModelCase) {
  const forja = await startForja(repoDir, { FORJA_MODELS__MAX_BATCH_SIZE: '1' });
  const client = grpcClient(forja.grpc);
  const pool = new Pool(forja.url, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
  const binary = restBinary(model);
  const json = restJson(model);
  const rawReq = grpcRequest(model, true);
  const typedReq = grpcRequest(model, false);
  const rest = (r: { body: string | Buffer; headers: Record<string, string> }) => async () => {
    const res = await pool.request({ method: 'POST', path: `/v2/models/${model.name}/infer`, body: r.body, headers: r.headers });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) throw new Error(`REST answered ${res.statusCode}`);
  };
  const kinds = {
    direct: () => directLatency(model),
    grpc_raw: () => timed(LATENCY_REQUESTS, async () => void (await call(client, rawReq))),
    grpc_typed: () => timed(LATENCY_REQUESTS, async () => void (await call(client, typedReq))),
    rest_binary: () => timed(LATENCY_REQUESTS, rest(binary)),
    rest_json: () => timed(LATENCY_REQUESTS, rest(json)),
  };
  type Kind = keyof typeof kinds;
  const rounds: Array<Record<Kind, number[]>> = [];
  const serverCpu: Partial<Record<Kind, number[]>> = {};
  try {
    for (let r = 0; r < LATENCY_ROUNDS; r++) {
      const round: Partial<Record<Kind, number[]>> = {};
      for (const [kind, run] of Object.entries(kinds) as Array<[Kind, () => Promise<number[]>]>) {
        const cpu0 = cpuMs(forja.pid);
        round[kind] = await run();
        (serverCpu[kind] ??= []).push(((cpuMs(forja.pid) - cpu0) * 1000) / (LATENCY_REQUESTS + 100));
      }
      rounds.push(round as Record<Kind, number[]>);
    }
  } finally {
    client.close();
    await pool.close();
    await forja.stop();
  }
  const stat = (kind: Kind, p: number) => round(median(rounds.map((x) => percentile(x[kind], p))));
  const ms = Object.fromEntries((Object.keys(kinds) as Kind[]).map((k) => [k, { p50: stat(k, 50), p99: stat(k, 99) }])) as Record<Kind, { p50: number; p99: number }>;
  const added = (k: Kind) => round(ms[k].p50 - ms.direct.p50);
  return {
    model: model.name,
    requests_per_round: LATENCY_REQUESTS,
    rounds: LATENCY_ROUNDS,
    ms,
    added_p50_ms: { grpc_raw: added('grpc_raw'), grpc_typed: added('grpc_typed'), rest_binary: added('rest_binary'), rest_json: added('rest_json') },
    // Server process CPU per request (onnxruntime's share included), robust to other load on the machine.
    server_cpu_us_per_request: Object.fromEntries((['grpc_raw', 'grpc_typed', 'rest_binary', 'rest_json'] as Kind[]).map((k) => [k, round(median(serverCpu[k]!), 1)])),
    met: added('grpc_raw') <= added('rest_binary'),
  };
}

// ---------- throughput ----------

async function directBest(model: ModelCase) {
  const results: Array<{ threads: number; batch: number; items_per_s: number }> = [];
  for (const threads of [1, 2]) {
    const session = await ort.InferenceSession.create(model.file, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
    for (const batch of [1, 4, 8, 16, 32]) {
      const tensor = new ort.Tensor('float32', new Float32Array(batch * itemSize(model)).fill(0.5), [batch, ...model.item]);
      await session.run({ [model.inputs[0]]: tensor });
      let items = 0;
      const t0 = performance.now();
      const end = t0 + LOAD_SECONDS * 400;
      while (performance.now() < end) {
        await session.run({ [model.inputs[0]]: tensor });
        items += batch;
      }
      results.push({ threads, batch, items_per_s: round(items / ((performance.now() - t0) / 1000), 1) });
    }
    await session.release();
  }
  return results.reduce((best, r) => (r.items_per_s > best.items_per_s ? r : best));
}

async function drive(send: () => Promise<void>): Promise<{ items_per_s: number; p50_ms: number; errors: number }> {
  let errors = 0;
  const one = async () => {
    const t0 = performance.now();
    try {
      await send();
    } catch {
      errors++;
    }
    return performance.now() - t0;
  };
  await Promise.all(Array.from({ length: CLIENTS }, one)); // warm-up
  errors = 0;
  const samples: number[] = [];
  const t0 = performance.now();
  const end = t0 + LOAD_SECONDS * 1000;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (performance.now() < end) samples.push(await one());
  }));
  return { items_per_s: round(samples.length / ((performance.now() - t0) / 1000), 1), p50_ms: round(percentile(samples, 50)), errors };
}

async function throughput(repoDir: string, model: ModelCase) {
  const direct = await directBest(model);
  const runs: Array<{ protocol: string; threads: number; items_per_s: number; p50_ms: number; errors: number; vs_direct_best: number }> = [];
  for (const threads of [1, 2]) {
    const forja = await startForja(repoDir, { FORJA_MODELS__THREADS: String(threads), FORJA_MODELS__MAX_BATCH_SIZE: '32' });
    try {
      const clients = Array.from({ length: CLIENTS }, () => grpcClient(forja.grpc));
      const req = grpcRequest(model, true);
      let next = 0;
      const g = await drive(async () => void (await call(clients[next++ % CLIENTS], req)));
      for (const c of clients) c.close();
      runs.push({ protocol: 'grpc', threads, ...g, vs_direct_best: round(g.items_per_s / direct.items_per_s) });
      const pool = new Pool(forja.url, { connections: CLIENTS, pipelining: 1, keepAliveTimeout: 60_000 });
      const { body, headers } = restBinary(model);
      const r = await drive(async () => {
        const res = await pool.request({ method: 'POST', path: `/v2/models/${model.name}/infer`, body, headers });
        await res.body.arrayBuffer();
        if (res.statusCode !== 200) throw new Error(String(res.statusCode));
      });
      await pool.close();
      runs.push({ protocol: 'rest', threads, ...r, vs_direct_best: round(r.items_per_s / direct.items_per_s) });
    } finally {
      await forja.stop();
    }
  }
  const best = (protocol: string) => runs.filter((r) => r.protocol === protocol).reduce((a, b) => (b.items_per_s > a.items_per_s ? b : a));
  return {
    model: model.name,
    clients: CLIENTS,
    seconds: LOAD_SECONDS,
    direct_best: direct,
    runs,
    grpc_ratio_vs_direct_best: best('grpc').vs_direct_best,
    rest_ratio_vs_direct_best: best('rest').vs_direct_best,
    met: best('grpc').vs_direct_best >= 0.8,
  };
}

async function main(): Promise<void> {
  const { dir, latencyModel, loadModel } = makeRepo();
  try {
    const report = {
      benchmark: 'grpc',
      quick: QUICK,
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
      latency: ONLY === 'throughput' ? undefined : await latency(dir, latencyModel),
      throughput: ONLY === 'latency' ? undefined : await throughput(dir, loadModel),
    };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
