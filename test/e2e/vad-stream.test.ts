/**
 * Streaming sessions with server-kept state over WebSocket, against a real `forja serve` and the real
 * silero VAD model (../shared/models/onnx/silero_vad.onnx; skipped when absent): probabilities equal
 * a direct onnxruntime run chunk by chunk with the state carried by hand, on one socket and on 50 at
 * once (batched across sessions, no bleeding between them), errors as frames, state freed at close,
 * every message counted in the request metrics with protocol="websocket" and the status REST would answer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import WebSocket from 'ws';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { direct, FRAME, frameInputs, signal, VAD, VAD_MODEL_YAML, VAD_PRESENT } from '../helpers/vad.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel } from '../helpers/onnx-models.js';
import { binaryStreamFrame } from '../../support/stream-frames.js';

const BODY_LIMIT = 1024 * 1024;
const MAX_STREAMS = 60;
const present = VAD_PRESENT;
let repo: TempRepo;
let server: ServerProcess;

/** Columns of the `wide` model: one row of each input is a frame far above the codec threads' threshold. */
const WIDE = 65536;

function chunkMessage(chunk: Float32Array, extra: object[] = []): string {
  return JSON.stringify({ inputs: [...frameInputs(chunk), ...extra] });
}

/** How many bodies the codec threads took so far (forja_codec_offloads_total{op}). */
async function offloads(op: 'decode' | 'encode'): Promise<number> {
  const line = (await metric('forja_codec_offloads_total')).split('\n').find((l) => l.includes(`op="${op}"`));
  return line ? Number(line.split(' ').pop()) : 0;
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
  repo.modelYaml('vad', VAD_MODEL_YAML);
  writeAddModel(repo.versionPath('add', '1'));
  writeAddModel(repo.versionPath('wide', '1'), { width: WIDE });
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
    const counted = async (status: number) => Number(new RegExp(`protocol="websocket",model="vad",version="1",status="${status}"\\} (\\d+)`).exec(await metric('forja_inference_requests_total'))?.[1] ?? 0);
    const [ok0, refused0] = [await counted(200), await counted(400)];
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
    assert.equal(await counted(400) - refused0, 4, 'each refused message counts as a 400 over the websocket protocol');
    assert.equal(await counted(200) - ok0, 1);
  });

  test('binary frames: length-prefixed JSON header and tensor bytes, answered the same way', async () => {
    const chunk = signal(3)[8];
    const header = {
      inputs: [
        { name: 'input', shape: [1, FRAME], datatype: 'FP32', parameters: { binary_data_size: FRAME * 4 } },
        { name: 'sr', shape: [], datatype: 'INT64', parameters: { binary_data_size: 8 } },
      ],
      parameters: { binary_data_output: true },
    };
    const c = await connect();
    c.send(binaryStreamFrame(header, [chunk, BigInt64Array.from([16000n])]));
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

  test('large frames go through the codec threads as REST bodies do, decoded and answered correctly', async () => {
    const c = await connect('wide');
    const [decodes, encodes] = [await offloads('decode'), await offloads('encode')];
    const a = Float32Array.from({ length: WIDE }, (_, i) => (i % 1000) / 8);
    const b = Float32Array.from({ length: WIDE }, (_, i) => i % 7);
    const json = JSON.stringify({ inputs: [
      { name: 'A', shape: [1, WIDE], datatype: 'FP32', data: Array.from(a) },
      { name: 'B', shape: [1, WIDE], datatype: 'FP32', data: Array.from(b) },
    ] });
    assert.ok(json.length > 256 * 1024 && json.length < BODY_LIMIT, `a ${json.length}-byte frame`);
    c.send(json);
    const reply = await c.next();
    assert.equal(reply.error, undefined, reply.error);
    const sum: number[] = reply.outputs.find((o: any) => o.name === 'SUM').data;
    assert.equal(sum.length, WIDE);
    sum.forEach((v, i) => assert.equal(v, a[i] + b[i], `SUM[${i}]`));
    assert.equal(await offloads('decode'), decodes + 1, 'the frame was decoded on a codec thread');
    assert.equal(await offloads('encode'), encodes + 1, 'the answer was encoded on a codec thread');

    c.send(binaryStreamFrame({
      inputs: ['A', 'B'].map((name) => ({ name, shape: [1, WIDE], datatype: 'FP32', parameters: { binary_data_size: WIDE * 4 } })),
      outputs: [{ name: 'SUM', parameters: { binary_data: true } }],
    }, [a, b]));
    const binary: Buffer = await c.next();
    const length = binary.readUInt32LE(0);
    const values = new Float32Array(binary.buffer.slice(binary.byteOffset + 4 + length, binary.byteOffset + binary.length));
    assert.equal(values.length, WIDE);
    values.forEach((v, i) => assert.equal(v, a[i] + b[i], `binary SUM[${i}]`));
    assert.equal(await offloads('decode'), decodes + 2, 'the binary frame was decoded on a codec thread');
    c.ws.close();
    await c.closed;

    const small = await connect('add');
    small.send(JSON.stringify({ inputs: ['A', 'B'].map((name) => ({ name, shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] })) }));
    assert.equal((await small.next()).outputs.length, 2);
    assert.equal(await offloads('decode'), decodes + 2, 'a small frame stays on the main thread');
    small.ws.close();
    await small.closed;
  });

  test('a session keeps the order of its steps when a large frame is followed by a small one', async () => {
    const chunks = signal(4, 12);
    const expected = await direct(chunks);
    const c = await connect();
    const decodes = await offloads('decode');
    // Every other frame padded past the codec threshold: it decodes on a thread, later than the small one after it.
    for (const [i, chunk] of chunks.entries()) c.send(i % 2 === 0 ? `${chunkMessage(chunk)}${' '.repeat(300 * 1024)}` : chunkMessage(chunk));
    const got: number[] = [];
    for (let i = 0; i < chunks.length; i++) {
      const reply = await c.next();
      assert.equal(reply.error, undefined, reply.error);
      got.push(reply.outputs[0].data[0]);
    }
    got.forEach((p, i) => assert.ok(Math.abs(p - expected[i]) < 1e-4, `chunk ${i}: ${p} vs ${expected[i]}`));
    assert.equal(await offloads('decode'), decodes + chunks.length / 2);
    c.ws.close();
    await c.closed;
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
