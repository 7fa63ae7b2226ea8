/**
 * Streaming sessions with server-kept state over WebSocket, against a real `forja serve` and the real
 * silero VAD model (../shared/models/onnx/silero_vad.onnx; skipped when absent): probabilities equal
 * a direct onnxruntime run chunk by chunk with the state carried by hand, on one socket and on 50 at
 * once (batched across sessions, no bleeding between them), errors as frames, state freed at close.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import WebSocket from 'ws';
import { SHARED_MODELS, startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel } from '../helpers/onnx-models.js';

const VAD = path.join(SHARED_MODELS, 'onnx/silero_vad.onnx');
const CHUNK = 512;
const CONTEXT = 64;
const FRAME = CONTEXT + CHUNK;
const BODY_LIMIT = 256 * 1024;
const MAX_STREAMS = 60;
const present = existsSync(VAD);
let repo: TempRepo;
let server: ServerProcess;

/**
 * 512-sample chunks at 16 kHz of silence (faint noise), a voiced burst (a glottal pulse train through
 * two formant resonators, pitch and onset differing per session so a mix-up would show), silence.
 * Each frame sent is 576 samples: the last 64 of the previous chunk, then the chunk, as silero's
 * own wrapper feeds this model.
 */
function signal(seed: number, chunks = 24): Float32Array[] {
  let s = seed * 7919 + 1;
  const noise = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.002;
  const start = 5 + (seed % 4);
  const resonator = (f: number, bw: number) => { const r = Math.exp((-Math.PI * bw) / 16000); return [2 * r * Math.cos((2 * Math.PI * f) / 16000), -r * r]; };
  const [a1, a2] = resonator(700, 130);
  const [b1, b2] = resonator(1200, 150);
  let y1 = 0, y2 = 0, z1 = 0, z2 = 0;
  const samples = new Float32Array(chunks * CHUNK);
  for (let n = 0; n < samples.length; n++) {
    const t = n / 16000;
    const c = Math.floor(n / CHUNK);
    const f0 = 100 + 5 * (seed % 10) + 20 * Math.sin(2 * Math.PI * 1.5 * t);
    const pulse = c >= start && c < start + 10 && n % Math.round(16000 / f0) === 0 ? 1 : 0;
    const y = pulse + a1 * y1 + a2 * y2; y2 = y1; y1 = y;
    const z = y + b1 * z1 + b2 * z2; z2 = z1; z1 = z;
    samples[n] = noise() + 0.05 * z;
  }
  const frames: Float32Array[] = [];
  for (let c = 0; c < chunks; c++) {
    const frame = new Float32Array(CONTEXT + CHUNK);
    if (c > 0) frame.set(samples.subarray(c * CHUNK - CONTEXT, c * CHUNK), 0);
    frame.set(samples.subarray(c * CHUNK, (c + 1) * CHUNK), CONTEXT);
    frames.push(frame);
  }
  return frames;
}

async function direct(chunks: Float32Array[]): Promise<number[]> {
  const session = await ort.InferenceSession.create(VAD);
  let state: ort.Tensor = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
  const sr = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);
  const probs: number[] = [];
  for (const chunk of chunks) {
    const r = await session.run({ input: new ort.Tensor('float32', chunk, [1, FRAME]), state, sr });
    probs.push((r.output.data as Float32Array)[0]);
    state = r.stateN;
  }
  await session.release();
  return probs;
}

function chunkMessage(chunk: Float32Array, extra: object[] = []): string {
  return JSON.stringify({ inputs: [
    { name: 'input', shape: [1, chunk.length], datatype: 'FP32', data: Array.from(chunk) },
    { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
    ...extra,
  ] });
}

/** A socket whose replies are awaited one by one. */
async function connect(model = 'vad'): Promise<{ ws: WebSocket; next(): Promise<any>; send(m: string | Buffer): void; closed: Promise<number> }> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v2/models/${model}/stream`);
  const replies: any[] = [];
  const waiters: Array<(v: any) => void> = [];
  ws.on('message', (data, isBinary) => {
    const value = isBinary ? data : JSON.parse(String(data));
    const w = waiters.shift();
    if (w) w(value);
    else replies.push(value);
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    closed,
    send: (m) => ws.send(m),
    next: () => (replies.length > 0 ? Promise.resolve(replies.shift()) : new Promise((r) => waiters.push(r))),
  };
}

async function streamAll(chunks: Float32Array[]): Promise<number[]> {
  const c = await connect();
  const probs: number[] = [];
  for (const chunk of chunks) {
    c.send(chunkMessage(chunk));
    const reply = await c.next();
    assert.equal(reply.error, undefined, reply.error);
    assert.deepEqual(reply.outputs.map((o: any) => o.name), ['output'], 'the state output stays on the server');
    probs.push(reply.outputs[0].data[0]);
  }
  c.ws.close();
  await c.closed;
  return probs;
}

async function metric(name: string): Promise<string> {
  return (await fetch(`${server.url}/metrics`)).text().then((t) => t.split('\n').filter((l) => l.startsWith(name)).join('\n'));
}

before(async () => {
  if (!present) return;
  repo = tempRepo();
  copyFileSync(VAD, repo.versionPath('vad', '1'));
  repo.modelYaml('vad', 'max_batch_size: 64\nsequence:\n  state:\n    - { input: state, output: stateN, batch_axis: 1 }\n  idle_timeout_s: 60\n');
  writeAddModel(repo.versionPath('add', '1'));
  server = await startServer(['--models', repo.dir], { env: { FORJA_SERVER__BODY_LIMIT_BYTES: String(BODY_LIMIT), FORJA_SERVER__MAX_STREAM_CONNECTIONS: String(MAX_STREAMS) } });
});

after(async () => {
  await server?.stop();
  repo?.remove();
});

describe('VAD over a WebSocket session', { skip: present ? false : `${VAD} not present` }, () => {
  test('one socket: probabilities equal the direct run with the state carried by hand', async () => {
    const chunks = signal(1);
    const [expected, got] = await Promise.all([direct(chunks), streamAll(chunks)]);
    got.forEach((p, i) => assert.ok(Math.abs(p - expected[i]) < 1e-4, `chunk ${i}: ${p} vs ${expected[i]}`));
    assert.ok(Math.max(...expected) > 0.5 && Math.min(...expected) < 0.2, `the signal has speech and silence: ${expected.map((p) => p.toFixed(2))}`);
  });

  test('50 sockets at once: each matches its own direct run, steps are batched across sessions, state freed at close', async () => {
    const signals = Array.from({ length: 50 }, (_, i) => signal(i + 2, 12));
    const expected: number[][] = [];
    for (const s of signals) expected.push(await direct(s));
    const got = await Promise.all(signals.map(streamAll));
    got.forEach((probs, k) => probs.forEach((p, i) => assert.ok(Math.abs(p - expected[k][i]) < 1e-4, `session ${k} chunk ${i}: ${p} vs ${expected[k][i]}`)));
    const sizes = await metric('forja_inference_batch_size_');
    const sum = Number(/_sum\{model="vad",version="1"\} (\d+)/.exec(sizes)?.[1]);
    const count = Number(/_count\{model="vad",version="1"\} (\d+)/.exec(sizes)?.[1]);
    assert.ok(sum / count > 1.5, `steps of many sessions ran together: ${sum} steps in ${count} runs`);
    for (;;) {
      if (/forja_sessions_active\{model="vad"\} 0/.test(await metric('forja_sessions_active'))) break;
      await new Promise((r) => setImmediate(r));
    }
  });

  test('errors come back as frames and the session goes on; state inputs are refused', async () => {
    const c = await connect();
    c.send('{"inputs": [');
    assert.match((await c.next()).error, /malformed JSON/);
    c.send(chunkMessage(new Float32Array(FRAME), [{ name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: new Array(256).fill(0) }]));
    const refused = await c.next();
    assert.match(refused.error, /'state' is the model's state, which the server keeps/);
    assert.equal(refused.code, 'FORJA_ERR_TENSOR_INVALID');
    c.send(Buffer.from([1, 0]));
    assert.match((await c.next()).error, /4-byte/);
    const lying = Buffer.alloc(4);
    lying.writeUInt32LE(5000);
    c.send(Buffer.concat([lying, Buffer.from('{"inputs": []}')]));
    assert.match((await c.next()).error, /Inference-Header-Content-Length must be an integer between 0 and the body length/);
    c.send(chunkMessage(new Float32Array(FRAME)));
    assert.equal((await c.next()).outputs[0].name, 'output');
    c.ws.close();
    await c.closed;
  });

  test('binary frames: length-prefixed JSON header and tensor bytes, answered the same way', async () => {
    const chunk = signal(3)[8];
    const header = Buffer.from(JSON.stringify({
      inputs: [
        { name: 'input', shape: [1, FRAME], datatype: 'FP32', parameters: { binary_data_size: FRAME * 4 } },
        { name: 'sr', shape: [], datatype: 'INT64', parameters: { binary_data_size: 8 } },
      ],
      parameters: { binary_data_output: true },
    }));
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(header.length);
    const c = await connect();
    c.send(Buffer.concat([prefix, header, Buffer.from(chunk.buffer), Buffer.from(BigInt64Array.from([16000n]).buffer)]));
    const reply: Buffer = await c.next();
    const length = reply.readUInt32LE(0);
    const json = JSON.parse(reply.subarray(4, 4 + length).toString());
    assert.equal(json.outputs[0].parameters.binary_data_size, 4);
    const p = reply.readFloatLE(4 + length);
    const [expected] = await direct([chunk]);
    assert.ok(Math.abs(p - expected) < 1e-4, `${p} vs ${expected}`);
    c.ws.close();
    await c.closed;
  });

  test('a frame over the body limit closes the socket with 1009; others are unaffected', async () => {
    const other = await connect();
    const c = await connect();
    c.send(Buffer.alloc(BODY_LIMIT + 1));
    assert.equal(await c.closed, 1009);
    other.send(chunkMessage(new Float32Array(FRAME)));
    assert.equal((await other.next()).outputs[0].name, 'output');
    other.ws.close();
    await other.closed;
  });

  test('sockets beyond server.max_stream_connections are refused with 503; closing makes room', async () => {
    const open = await Promise.all(Array.from({ length: MAX_STREAMS }, () => connect()));
    await assert.rejects(connect(), /503/);
    for (const c of open) c.ws.close();
    await Promise.all(open.map((c) => c.closed));
    // The server frees a socket's place and its session in the same close handler.
    for (;;) {
      if (/forja_sessions_active\{model="vad"\} 0/.test(await metric('forja_sessions_active'))) break;
      await new Promise((r) => setImmediate(r));
    }
    const again = await connect();
    again.ws.close();
    await again.closed;
  });

  test('a stateless model streams plain infer requests; an unknown model is refused before the upgrade', async () => {
    const c = await connect('add');
    c.send(JSON.stringify({ inputs: ['A', 'B'].map((name) => ({ name, shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] })) }));
    assert.deepEqual((await c.next()).outputs.find((o: any) => o.name === 'SUM').data, [2, 4, 6, 8]);
    c.ws.close();
    await c.closed;
    await assert.rejects(connect('nope'), /404/);
  });
});
