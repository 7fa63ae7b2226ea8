/**
 * Streaming benchmark: silero VAD as a stateful model (model.yaml `sequence:`, the state kept by the
 * server between chunks), 576-sample frames (64 of context, 512 new samples at 16 kHz). Prints one JSON
 * document:
 * - latency: per-chunk round trip p50/p99 with 1 session and with 50 concurrent sessions, over the
 *   WebSocket stream route (binary frames, the socket is the session) vs HTTP keep-alive infer of
 *   the same model with Triton's sequence parameters (sequence_id, sequence_start on the first chunk,
 *   sequence_end after the last; the state kept on the server too, steps batched with each other's).
 *   Both use the binary tensor extension and run against one server: with 1
 *   session one chunk of each in turn (and of onnxruntime called directly, for the floor), with 50
 *   in alternating rounds. Target: WebSocket p50 <= HTTP p50, for each session count.
 * - throughput: chunks/s of the 50 WebSocket sessions vs onnxruntime-node called directly in this
 *   process at its best batch size (state concatenated on axis 1; a sweep of batches 1..64 at 1 and 2
 *   threads picks it, then it is re-measured in each round beside the sessions). Target: >= 0.8x.
 * The server is a `forja serve` child process, the clients run here. Without
 * ../shared/models/onnx/silero_vad.onnx the report says `skipped`. `--quick` shortens every phase.
 */
import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { Pool } from 'undici';
import WebSocket from 'ws';
import { benchRepo } from './lib/model-repo.js';
import { processCpuMs, startListening, type Child } from './lib/processes.js';
import { median, percentile, round } from '../src/telemetry/stats.js';
import { binaryStreamFrame } from '../support/stream-frames.js';

const QUICK = process.argv.includes('--quick');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const VAD = path.resolve(ROOT, '../shared/models/onnx/silero_vad.onnx');

const FRAME = 576;
const STATE_SHAPE = [2, 1, 128];
const STATE_VALUES = 2 * 128;
const SESSIONS = 50;
const LATENCY_CHUNKS = QUICK ? 200 : 2000;
const WARMUP_CHUNKS = QUICK ? 20 : 100;
const ROUNDS = QUICK ? 1 : 3;
const LOAD_SECONDS = QUICK ? 1 : 3;
const DIRECT_BATCHES = [1, 2, 4, 8, 16, 32, 64];

const STATEFUL_YAML = 'max_batch_size: 64\nsequence:\n  state:\n    - { input: state, output: stateN, batch_axis: 1, init: zeros }\n  idle_timeout_s: 60\n';

/** 16 frames of a faint noise with a tone burst, cycled by every session: the figures do not depend on the audio. */
const FRAMES: Float32Array[] = Array.from({ length: 16 }, (_, f) => Float32Array.from({ length: FRAME }, (_, i) => {
  const n = f * 512 + i;
  return 0.002 * Math.sin(n * 12.9898) + (f >= 4 && f < 12 ? 0.1 * Math.sin((2 * Math.PI * 220 * n) / 16000) : 0);
}));
const SR = Buffer.from(BigInt64Array.from([16000n]).buffer);

// ---------- wire formats ----------

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** A WebSocket binary frame for each chunk: the JSON header, then the input and sr bytes. */
function wsFrames(): Buffer[] {
  const header = {
    inputs: [
      { name: 'input', shape: [1, FRAME], datatype: 'FP32', parameters: { binary_data_size: FRAME * 4 } },
      { name: 'sr', shape: [], datatype: 'INT64', parameters: { binary_data_size: 8 } },
    ],
    parameters: { binary_data_output: true },
  };
  return FRAMES.map((frame) => binaryStreamFrame(header, [frame, SR]));
}

/** An HTTP request header of the same frame in sequence `id`, the sequence parameters Triton's clients send. */
function httpHeader(id: number, flags: { sequence_start?: boolean; sequence_end?: boolean }): Buffer {
  return Buffer.from(JSON.stringify({
    inputs: [
      { name: 'input', shape: [1, FRAME], datatype: 'FP32', parameters: { binary_data_size: FRAME * 4 } },
      { name: 'sr', shape: [], datatype: 'INT64', parameters: { binary_data_size: 8 } },
    ],
    parameters: { sequence_id: id, ...flags, binary_data_output: true },
  }));
}

// ---------- clients ----------

/** One streaming session: a socket whose answers come back in order. */
class StreamSession {
  private waiting: Array<(reply: { data: Buffer; binary: boolean }) => void> = [];
  private next = 0;

  private constructor(private readonly ws: WebSocket, private readonly frames: Buffer[]) {
    ws.on('message', (data: Buffer, binary: boolean) => this.waiting.shift()?.({ data, binary }));
  }

  static async open(url: string, model: string, frames: Buffer[]): Promise<StreamSession> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v2/models/${model}/stream`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new StreamSession(ws, frames);
  }

  /** Sends the next chunk and resolves when its answer arrives; an error answer is a text frame. */
  async chunk(): Promise<void> {
    const reply = await new Promise<{ data: Buffer; binary: boolean }>((resolve) => {
      this.waiting.push(resolve);
      this.ws.send(this.frames[this.next++ % this.frames.length]);
    });
    if (!reply.binary) throw new Error(`stream answered ${reply.data.toString()}`);
  }

  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.ws.once('close', resolve));
    this.ws.close();
    await closed;
  }
}

let nextSequenceId = 1;

/** One HTTP sequence: its first chunk starts it, close() sends one more that ends it. */
class HttpSequence {
  private readonly id = nextSequenceId++;
  private readonly headers = { start: httpHeader(this.id, { sequence_start: true }), next: httpHeader(this.id, {}), end: httpHeader(this.id, { sequence_end: true }) };
  private next = 0;

  constructor(private readonly pool: Pool) {}

  chunk(): Promise<void> {
    return this.send(this.next === 0 ? this.headers.start : this.headers.next);
  }

  close(): Promise<void> {
    return this.send(this.headers.end);
  }

  private async send(header: Buffer): Promise<void> {
    const frame = FRAMES[this.next++ % FRAMES.length];
    const res = await this.pool.request({
      method: 'POST',
      path: '/v2/models/vad/infer',
      body: Buffer.concat([header, bytesOf(frame), SR]),
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    });
    const body = await res.body.arrayBuffer();
    if (res.statusCode !== 200) throw new Error(`infer answered ${res.statusCode}: ${Buffer.from(body).toString()}`);
  }
}

interface Chunker { chunk(): Promise<void> }

/**
 * One chunk of each session in turn, `n` times after a warm-up, so that a change of load on the
 * machine touches every kind alike. Returns each session's round trips.
 */
async function alternating(sessions: Chunker[], n: number): Promise<number[][]> {
  for (let i = 0; i < WARMUP_CHUNKS; i++) for (const s of sessions) await s.chunk();
  const samples: number[][] = sessions.map(() => []);
  for (let i = 0; i < n; i++) {
    for (const [k, s] of sessions.entries()) {
      const t0 = performance.now();
      await s.chunk();
      samples[k].push(performance.now() - t0);
    }
  }
  return samples;
}

/**
 * Every session sends its next chunk when the previous one is answered, for LOAD_SECONDS; with the
 * CPU time the server process spent per chunk meanwhile (robust to other load on the machine).
 */
async function drive(sessions: Chunker[], serverPid: number): Promise<{ samples: number[]; chunksPerSec: number; cpuMsPerChunk: number; errors: number }> {
  let errors = 0;
  const one = async (s: Chunker) => {
    const t0 = performance.now();
    try {
      await s.chunk();
    } catch {
      errors++;
    }
    return performance.now() - t0;
  };
  for (let i = 0; i < 3; i++) await Promise.all(sessions.map(one)); // warm-up
  errors = 0;
  const samples: number[] = [];
  const cpu0 = processCpuMs(serverPid);
  const t0 = performance.now();
  const end = t0 + LOAD_SECONDS * 1000;
  await Promise.all(sessions.map(async (s) => {
    while (performance.now() < end) samples.push(await one(s));
  }));
  const seconds = (performance.now() - t0) / 1000;
  return { samples, chunksPerSec: samples.length / seconds, cpuMsPerChunk: (processCpuMs(serverPid) - cpu0) / samples.length, errors };
}

// ---------- direct onnxruntime ----------

function directSession(threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(VAD, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', extra: { session: { intra_op: { allow_spinning: '0' } } } });
}

/** Feeds for `batch` sessions at once: frames stacked on axis 0, the state on axis 1. */
function directFeeds(batch: number, state: ort.Tensor): Record<string, ort.Tensor> {
  const input = new Float32Array(batch * FRAME);
  for (let b = 0; b < batch; b++) input.set(FRAMES[b % FRAMES.length], b * FRAME);
  return { input: new ort.Tensor('float32', input, [batch, FRAME]), state, sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []) };
}

/** onnxruntime called directly for one session, batch 1, the state carried by hand. */
class DirectSession {
  private state: ort.Tensor = new ort.Tensor('float32', new Float32Array(STATE_VALUES), STATE_SHAPE);

  constructor(private readonly session: ort.InferenceSession) {}

  async chunk(): Promise<void> {
    this.state = (await this.session.run(directFeeds(1, this.state))).stateN;
  }
}

/** Chunks/s (and CPU ms per chunk) of `batch` sessions stepped together for `ms` milliseconds, the state carried from run to run. */
async function directRate(session: ort.InferenceSession, batch: number, ms: number): Promise<{ chunksPerSec: number; cpuMsPerChunk: number }> {
  let state: ort.Tensor = new ort.Tensor('float32', new Float32Array(2 * batch * 128), [2, batch, 128]);
  state = (await session.run(directFeeds(batch, state))).stateN;
  let chunks = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() < t0 + ms) {
    state = (await session.run(directFeeds(batch, state))).stateN;
    chunks += batch;
  }
  const cpu = process.cpuUsage(cpu0);
  return { chunksPerSec: chunks / ((performance.now() - t0) / 1000), cpuMsPerChunk: (cpu.user + cpu.system) / 1000 / chunks };
}

/** Every batch size at 1 and 2 threads: the best setting is the peer of the 50 sessions. */
async function directSweep() {
  const runs: Array<{ threads: number; batch: number; chunks_per_s: number }> = [];
  for (const threads of [1, 2]) {
    const session = await directSession(threads);
    for (const batch of DIRECT_BATCHES) runs.push({ threads, batch, chunks_per_s: round((await directRate(session, batch, LOAD_SECONDS * 400)).chunksPerSec, 1) });
    await session.release();
  }
  return { best: runs.reduce((a, b) => (b.chunks_per_s > a.chunks_per_s ? b : a)), runs };
}

// ---------- phases ----------

const ms = (rounds: number[][]) => ({ p50: round(median(rounds.map((r) => percentile(r, 50)))), p99: round(median(rounds.map((r) => percentile(r, 99)))) });

async function oneSession(url: string) {
  const rounds = { ws: [] as number[][], http: [] as number[][], direct: [] as number[][] };
  const direct = await directSession(1);
  for (let r = 0; r < ROUNDS; r++) {
    const stream = await StreamSession.open(url, 'vad', wsFrames());
    const pool = new Pool(url, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
    const sequence = new HttpSequence(pool);
    const [ws, http, alone] = await alternating([stream, sequence, new DirectSession(direct)], LATENCY_CHUNKS);
    rounds.ws.push(ws);
    rounds.http.push(http);
    rounds.direct.push(alone);
    await stream.close();
    await sequence.close();
    await pool.close();
  }
  await direct.release();
  const ws = ms(rounds.ws);
  const http = ms(rounds.http);
  return {
    sessions: 1,
    chunks_per_round: LATENCY_CHUNKS,
    rounds: ROUNDS,
    websocket_ms: ws,
    http_ms: http,
    direct_ms: ms(rounds.direct),
    http_vs_websocket_p50: round(http.p50 / ws.p50),
    target: 'per-chunk p50 over WebSocket <= over HTTP sequences, 1 session',
    figure: ws.p50,
    peer: http.p50,
    met: ws.p50 <= http.p50,
  };
}

/**
 * 50 sessions over each protocol, then direct onnxruntime at its best setting, in every round: on a
 * machine whose load changes, the throughput ratio compares figures taken a few seconds apart.
 */
async function manySessions(forja: Child, best: { threads: number; batch: number }) {
  const url = forja.url;
  const rounds: Array<{ ws: Awaited<ReturnType<typeof drive>>; http: Awaited<ReturnType<typeof drive>>; direct: Awaited<ReturnType<typeof directRate>> }> = [];
  const frames = wsFrames();
  const direct = await directSession(best.threads);
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const streams = await Promise.all(Array.from({ length: SESSIONS }, () => StreamSession.open(url, 'vad', frames)));
      const ws = await drive(streams, forja.pid);
      await Promise.all(streams.map((s) => s.close()));
      const pool = new Pool(url, { connections: SESSIONS, pipelining: 1, keepAliveTimeout: 60_000 });
      const sequences = Array.from({ length: SESSIONS }, () => new HttpSequence(pool));
      const http = await drive(sequences, forja.pid);
      await Promise.all(sequences.map((q) => q.close()));
      await pool.close();
      rounds.push({ ws, http, direct: await directRate(direct, best.batch, LOAD_SECONDS * 1000) });
    }
  } finally {
    await direct.release();
  }
  const figures = (key: 'ws' | 'http') => ({
    ...ms(rounds.map((r) => r[key].samples)),
    chunks_per_s: round(median(rounds.map((r) => r[key].chunksPerSec)), 1),
    cpu_ms_per_chunk: round(median(rounds.map((r) => r[key].cpuMsPerChunk))),
    errors: rounds.reduce((n, r) => n + r[key].errors, 0),
  });
  const ws = figures('ws');
  const http = figures('http');
  return {
    latency: {
      sessions: SESSIONS,
      seconds: LOAD_SECONDS,
      rounds: ROUNDS,
      websocket_ms: { p50: ws.p50, p99: ws.p99 },
      http_ms: { p50: http.p50, p99: http.p99 },
      errors: { websocket: ws.errors, http: http.errors },
      http_vs_websocket_p50: round(http.p50 / ws.p50),
      target: `per-chunk p50 over WebSocket <= over HTTP sequences, ${SESSIONS} sessions, no errors`,
      figure: ws.p50,
      peer: http.p50,
      met: ws.p50 <= http.p50 && ws.errors === 0,
    },
    chunksPerSec: { websocket: ws.chunks_per_s, http: http.chunks_per_s, direct: round(median(rounds.map((r) => r.direct.chunksPerSec)), 1) },
    cpuMsPerChunk: { websocket_server: ws.cpu_ms_per_chunk, http_server: http.cpu_ms_per_chunk, direct: round(median(rounds.map((r) => r.direct.cpuMsPerChunk))) },
    ratioVsDirect: round(median(rounds.map((r) => r.ws.chunksPerSec / r.direct.chunksPerSec))),
  };
}

async function startForja(repoDir: string): Promise<Child> {
  const config = path.join(repoDir, 'forja.yaml');
  writeFileSync(config, `models:\n  dir: ${JSON.stringify(repoDir)}\nlog:\n  level: warn\n`);
  return startListening(process.execPath, [CLI, 'serve', '--config', config, '--port', '0']);
}

async function main(): Promise<void> {
  const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, onnxruntime: ort.env.versions?.common ?? 'unknown', loadavg: os.loadavg().map((l) => round(l, 2)) };
  if (!existsSync(VAD)) {
    process.stdout.write(JSON.stringify({ benchmark: 'streaming', quick: QUICK, machine, skipped: `${VAD} not present` }, null, 2) + '\n');
    return;
  }
  const { dir, put } = benchRepo('forja-bench-streaming-');
  put('vad', (f) => copyFileSync(VAD, f));
  writeFileSync(path.join(dir, 'vad', 'model.yaml'), STATEFUL_YAML);
  try {
    const sweep = await directSweep();
    const forja = await startForja(dir);
    try {
      const one = await oneSession(forja.url);
      const many = await manySessions(forja, sweep.best);
      const report = {
        benchmark: 'streaming',
        quick: QUICK,
        machine,
        model: 'silero_vad',
        frame_samples: FRAME,
        server: 'forja serve defaults (1 intra-op thread, spinning off); vad: max_batch_size 64 with sequence state on axis 1',
        http_baseline: 'POST /v2/models/vad/infer with sequence_id (sequence_start on the first chunk, sequence_end after the last), binary tensors, one keep-alive connection per sequence',
        latency: { one_session: one, fifty_sessions: many.latency },
        throughput: {
          sessions: SESSIONS,
          chunks_per_s: many.chunksPerSec,
          direct_best: sweep.best,
          direct_sweep: sweep.runs,
          websocket_vs_http_chunks_per_s: round(many.chunksPerSec.websocket / many.chunksPerSec.http),
          // CPU time per chunk does not grow with other load on the machine, unlike chunks/s.
          cpu_ms_per_chunk: many.cpuMsPerChunk,
          direct_vs_websocket_cpu_per_chunk: round(many.cpuMsPerChunk.direct / many.cpuMsPerChunk.websocket_server),
          // The direct peer is re-measured in each round beside the sessions; the ratio is the median of the rounds'.
          ratio_vs_direct_best: many.ratioVsDirect,
          target: `chunks/s of ${SESSIONS} WebSocket sessions >= 0.8x onnxruntime called directly at its best batch size`,
          figure: many.ratioVsDirect,
          limit: 0.8,
          met: many.ratioVsDirect >= 0.8,
        },
      };
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    } finally {
      await forja.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
