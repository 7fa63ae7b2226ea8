/**
 * Sequences of a stateful model over REST and gRPC (Triton's sequence_id / sequence_start /
 * sequence_end parameters), against a real `forja serve` and the real silero VAD model (skipped when
 * absent): probabilities equal a direct onnxruntime run with the state carried by hand, over fetch and
 * over the real @grpc/grpc-js client; interleaved ids keep their own state; one id carries its state
 * across protocols; steps of REST, gRPC and WebSocket sessions batch together; end and the idle
 * timeout free the state; the refusals carry their codes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import WebSocket from 'ws';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { inferenceClient, rejection, type GrpcClient } from '../helpers/grpc-client.js';
import { assertClose, direct, frameInputs, signal, VAD, VAD_MODEL_YAML, VAD_PRESENT } from '../helpers/vad.js';

let repo: TempRepo;
let server: ServerProcess;
let grpc: GrpcClient;

type Flags = { id?: number | string; start?: boolean; end?: boolean };

function restParameters(flags: Flags): Record<string, unknown> {
  return {
    ...(flags.id !== undefined ? { sequence_id: flags.id } : {}),
    ...(flags.start ? { sequence_start: true } : {}),
    ...(flags.end ? { sequence_end: true } : {}),
  };
}

async function rest(chunk: Float32Array, flags: Flags, model = 'vad', extra: object[] = []): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ parameters: restParameters(flags), inputs: [...frameInputs(chunk), ...extra] }),
  });
  return { status: res.status, body: await res.json() };
}

async function restProb(chunk: Float32Array, flags: Flags): Promise<number> {
  const { status, body } = await rest(chunk, flags);
  assert.equal(status, 200, JSON.stringify(body));
  assert.deepEqual(body.outputs.map((o: any) => o.name), ['output'], 'the state output stays on the server');
  return body.outputs[0].data[0];
}

function grpcRequest(chunk: Float32Array, flags: Flags): object {
  const parameters: Record<string, object> = {};
  if (typeof flags.id === 'number') parameters.sequence_id = { uint64_param: String(flags.id) };
  if (typeof flags.id === 'string') parameters.sequence_id = { string_param: flags.id };
  if (flags.start) parameters.sequence_start = { bool_param: true };
  if (flags.end) parameters.sequence_end = { bool_param: true };
  return {
    model_name: 'vad',
    parameters,
    inputs: [
      { name: 'input', datatype: 'FP32', shape: ['1', String(chunk.length)], contents: { fp32_contents: Array.from(chunk) } },
      { name: 'sr', datatype: 'INT64', shape: [], contents: { int64_contents: ['16000'] } },
    ],
  };
}

async function grpcProb(chunk: Float32Array, flags: Flags): Promise<number> {
  const reply = await grpc.ModelInfer(grpcRequest(chunk, flags));
  assert.deepEqual(reply.outputs.map((o: any) => o.name), ['output']);
  return reply.outputs[0].contents.fp32_contents[0];
}

/** A whole sequence, one request after the other: start on the first, end on the last. */
async function sequence(chunks: Float32Array[], id: number | string, send: (chunk: Float32Array, flags: Flags) => Promise<number>): Promise<number[]> {
  const probs: number[] = [];
  for (const [i, chunk] of chunks.entries()) probs.push(await send(chunk, { id, start: i === 0, end: i === chunks.length - 1 }));
  return probs;
}

async function viaWebSocket(chunks: Float32Array[]): Promise<number[]> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v2/models/vad/stream`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const probs: number[] = [];
  for (const chunk of chunks) {
    ws.send(JSON.stringify({ inputs: frameInputs(chunk) }));
    const reply = JSON.parse(String(await new Promise((r) => ws.once('message', r))));
    probs.push(reply.outputs[0].data[0]);
  }
  const closed = new Promise((r) => ws.once('close', r));
  ws.close();
  await closed;
  return probs;
}

async function metric(name: string): Promise<string> {
  return (await fetch(`${server.url}/metrics`)).text().then((t) => t.split('\n').filter((l) => l.startsWith(name)).join('\n'));
}

async function activeSessions(model: string): Promise<number> {
  const line = (await metric('forja_sessions_active')).split('\n').find((l) => l.includes(`model="${model}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Waits, turn by turn of the event loop, until the server reports `count` open sessions of the model. */
async function sessionsReach(model: string, count: number): Promise<void> {
  while ((await activeSessions(model)) !== count) await new Promise((r) => setImmediate(r));
}

before(async () => {
  if (!VAD_PRESENT) return;
  repo = tempRepo();
  copyFileSync(VAD, repo.versionPath('vad', '1'));
  repo.modelYaml('vad', VAD_MODEL_YAML);
  copyFileSync(VAD, repo.versionPath('vad-idle', '1'));
  repo.modelYaml('vad-idle', VAD_MODEL_YAML.replace('idle_timeout_s: 60', 'idle_timeout_s: 0.2'));
  copyFileSync(VAD, repo.versionPath('vad-few', '1'));
  repo.modelYaml('vad-few', `${VAD_MODEL_YAML}  max_sequences: 2\n`);
  server = await startServer(['--models', repo.dir, '--grpc-port', '0']);
  grpc = inferenceClient(server.grpcAddress!);
});

after(async () => {
  grpc?.close();
  await server?.stop();
  repo?.remove();
});

describe('VAD sequences over REST and gRPC', { skip: VAD_PRESENT ? false : `${VAD} not present` }, () => {
  test('REST: one sequence chunk by chunk equals the direct run; end frees its state', async () => {
    const chunks = signal(1);
    const expected = await direct(chunks);
    assertClose(await sequence(chunks, 101, restProb), expected, 'REST sequence');
    assert.ok(Math.max(...expected) > 0.5 && Math.min(...expected) < 0.2, `the signal has speech and silence: ${expected.map((p) => p.toFixed(2))}`);
    assert.equal(await activeSessions('vad'), 0, 'sequence_end freed the state');
    const after = await rest(chunks[0], { id: 101 });
    assert.equal(after.status, 400);
    assert.equal(after.body.code, 'FORJA_ERR_SEQUENCE_UNKNOWN');
  });

  test('gRPC: uint64 and string ids, chunk by chunk, equal the direct run', async () => {
    const chunks = signal(2, 12);
    const expected = await direct(chunks);
    assertClose(await sequence(chunks, 202, grpcProb), expected, 'gRPC uint64 id');
    assertClose(await sequence(chunks, 'call-202', grpcProb), expected, 'gRPC string id');
    assert.equal(await activeSessions('vad'), 0);
  });

  test('gRPC ModelStreamInfer: a whole sequence written at once is answered in order, equal to the direct run', async () => {
    const chunks = signal(11, 12);
    const expected = await direct(chunks);
    const stream = (grpc.raw as any).ModelStreamInfer();
    const answers: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (m: any) => {
        answers.push(m);
        if (answers.length === chunks.length) resolve();
      });
      stream.on('error', reject);
    });
    chunks.forEach((chunk, i) => stream.write(grpcRequest(chunk, { id: 'streamed', start: i === 0, end: i === chunks.length - 1 })));
    await done;
    stream.end();
    assert.deepEqual(answers.map((a) => a.error_message), chunks.map(() => ''));
    assertClose(answers.map((a) => a.infer_response.outputs[0].contents.fp32_contents[0]), expected, 'streamed sequence');
    await sessionsReach('vad', 0);
  });

  test('two interleaved ids keep their own state; one id carries its state from REST to gRPC', async () => {
    const a = signal(3, 12);
    const b = signal(8, 12);
    const [expectedA, expectedB] = [await direct(a), await direct(b)];
    const gotA: number[] = [];
    const gotB: number[] = [];
    for (let i = 0; i < a.length; i++) {
      const flags = { start: i === 0, end: i === a.length - 1 };
      // Sequence 'a' alternates protocols on every chunk: the id, not the connection, names the state.
      gotA.push(await (i % 2 === 0 ? restProb : grpcProb)(a[i], { id: 303, ...flags }));
      gotB.push(await restProb(b[i], { id: 'b-303', ...flags }));
    }
    assertClose(gotA, expectedA, 'sequence 303');
    assertClose(gotB, expectedB, "sequence 'b-303'");
    assert.ok(expectedA.some((p, i) => Math.abs(p - expectedB[i]) > 0.05), 'the two signals differ, so bleeding would show');
    assert.equal(await activeSessions('vad'), 0);
  });

  test('steps of REST, gRPC and WebSocket sessions run in shared batches', async () => {
    const sizes = async () => {
      const text = await metric('forja_inference_batch_size_');
      return { sum: Number(/_sum\{model="vad",version="1"\} (\d+)/.exec(text)?.[1] ?? 0), count: Number(/_count\{model="vad",version="1"\} (\d+)/.exec(text)?.[1] ?? 0) };
    };
    const before = await sizes();
    const signals = Array.from({ length: 30 }, (_, i) => signal(i + 10, 8));
    const expected: number[][] = [];
    for (const s of signals) expected.push(await direct(s));
    const got = await Promise.all(signals.map((s, i) => (i % 3 === 0 ? sequence(s, 1000 + i, restProb) : i % 3 === 1 ? sequence(s, 1000 + i, grpcProb) : viaWebSocket(s))));
    got.forEach((probs, k) => assertClose(probs, expected[k], `session ${k}`));
    const now = await sizes();
    const steps = now.sum - before.sum;
    const runs = now.count - before.count;
    assert.equal(steps, 30 * 8);
    assert.ok(steps / runs > 1.5, `steps of many sequences ran together: ${steps} steps in ${runs} runs`);
    await sessionsReach('vad', 0);
  });

  test('sequence_start on an open id starts it again from zeroed state', async () => {
    const chunks = signal(5, 8);
    const expected = await direct(chunks);
    await sequence(chunks.slice(0, 4), 404, async (c, f) => restProb(c, { ...f, end: false }));
    assertClose(await sequence(chunks, 404, restProb), expected, 'the restarted sequence');
    assert.equal(await activeSessions('vad'), 0);
  });

  test('refusals: unknown id without start, no id, state inputs, malformed parameters; REST 400 and gRPC INVALID_ARGUMENT with the code', async () => {
    const chunk = signal(6, 1)[0];
    const unknown = await rest(chunk, { id: 505 });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.code, 'FORJA_ERR_SEQUENCE_UNKNOWN');
    assert.match(unknown.body.error, /sequence 505 of model 'vad' is not open .*sequence_start/);
    const grpcUnknown = await rejection(grpc.ModelInfer(grpcRequest(chunk, { id: 'nobody' })));
    assert.equal(grpcUnknown.code, 3, 'INVALID_ARGUMENT');
    assert.match(grpcUnknown.details, /sequence 'nobody' of model 'vad' is not open/);
    assert.deepEqual(grpcUnknown.metadata.get('forja-error-code'), ['FORJA_ERR_SEQUENCE_UNKNOWN']);

    const missing = await rest(chunk, {});
    assert.equal(missing.status, 400);
    assert.equal(missing.body.code, 'FORJA_ERR_SEQUENCE_ID_REQUIRED');
    assert.match(missing.body.error, /model 'vad' keeps state between requests: give parameters.sequence_id/);
    assert.equal((await rest(chunk, { id: 0, start: true })).body.code, 'FORJA_ERR_SEQUENCE_ID_REQUIRED', 'id 0 is no id, as in Triton');
    const grpcMissing = await rejection(grpc.ModelInfer(grpcRequest(chunk, { start: true })));
    assert.equal(grpcMissing.code, 3);
    assert.deepEqual(grpcMissing.metadata.get('forja-error-code'), ['FORJA_ERR_SEQUENCE_ID_REQUIRED']);

    const state = { name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: new Array(256).fill(0) };
    const withState = await rest(chunk, { id: 506, start: true, end: true }, 'vad', [state]);
    assert.equal(withState.status, 400);
    assert.equal(withState.body.code, 'FORJA_ERR_TENSOR_INVALID');
    assert.match(withState.body.error, /'state' is the model's state, which the server keeps/);

    for (const parameters of [{ sequence_id: 7, sequence_start: 'yes' }, { sequence_id: -3 }, { sequence_id: 1.5 }, { sequence_id: 2 ** 60 }, { sequence_id: [1] }]) {
      const res = await fetch(`${server.url}/v2/models/vad/infer`, { method: 'POST', body: JSON.stringify({ parameters, inputs: frameInputs(chunk) }) });
      const body = await res.json();
      assert.equal(res.status, 400, JSON.stringify(parameters));
      assert.equal(body.code, 'FORJA_ERR_REQUEST_INVALID', JSON.stringify(parameters));
      assert.match(body.error, /parameters\.sequence_/);
    }
    await sessionsReach('vad', 0);
  });

  test('starts beyond sequence.max_sequences are answered 503 until a sequence ends', async () => {
    const chunk = signal(9, 1)[0];
    for (const id of [1, 2]) assert.equal((await rest(chunk, { id, start: true }, 'vad-few')).status, 200);
    const full = await rest(chunk, { id: 3, start: true }, 'vad-few');
    assert.equal(full.status, 503);
    assert.equal(full.body.code, 'FORJA_ERR_QUEUE_FULL');
    assert.match(full.body.error, /model 'vad-few' holds 2 open sequences, its sequence.max_sequences/);
    assert.equal((await rest(chunk, { id: 1 }, 'vad-few')).status, 200, 'open sequences go on');
    assert.equal((await rest(chunk, { id: 1, end: true }, 'vad-few')).status, 200);
    assert.equal((await rest(chunk, { id: 3, start: true, end: true }, 'vad-few')).status, 200, 'an ended sequence made room');
    assert.equal((await rest(chunk, { id: 2, end: true }, 'vad-few')).status, 200);
    await sessionsReach('vad-few', 0);
  });

  test('a sequence idle past idle_timeout_s is freed; its id is then unknown', async () => {
    const chunk = signal(7, 1)[0];
    const { status } = await rest(chunk, { id: 606, start: true }, 'vad-idle');
    assert.equal(status, 200);
    await sessionsReach('vad-idle', 0);
    const later = await rest(chunk, { id: 606 }, 'vad-idle');
    assert.equal(later.status, 400);
    assert.equal(later.body.code, 'FORJA_ERR_SEQUENCE_UNKNOWN');
  });
});
