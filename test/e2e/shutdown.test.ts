/**
 * SIGTERM and SIGINT drain, then the process exits 0. While it drains the listener stays open:
 * readiness answers 503 with a code, liveness 200, requests in flight finish, late requests are
 * served, and streams that would never end by themselves (job events, the dashboard feed,
 * WebSockets) end so they cannot hold the exit.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { healthClient } from '../helpers/grpc-client.js';
import { startServer } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel } from '../helpers/onnx-models.js';

let repo: TempRepo;
let work: string;

// A job that runs until the shutdown deadline aborts its step: its event stream never ends by itself.
const WAIT = `
export default {
  name: 'wait',
  async run(input, ctx) {
    await ctx.step('wait', ({ signal }) => new Promise((resolve) => signal.addEventListener('abort', resolve)));
    return {};
  },
};
`;

before(() => {
  repo = tempRepo();
  writeAddModel(repo.versionPath('slow', '1'));
  // The first request of a batch waits this long for company: long enough to signal mid-request.
  repo.modelYaml('slow', 'max_queue_delay_ms: 1500\n');
  writeAddModel(repo.versionPath('add', '1'));
  work = mkdtempSync(path.join(os.tmpdir(), 'forja-shutdown-'));
  mkdirSync(path.join(work, 'pipelines'));
  writeFileSync(path.join(work, 'pipelines', 'wait.mjs'), WAIT);
});

after(() => {
  repo.remove();
  rmSync(work, { recursive: true, force: true });
});

const body = JSON.stringify({ inputs: [
  { name: 'A', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
  { name: 'B', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
] });
const json = { 'content-type': 'application/json' };

async function waitForQueued(url: string): Promise<void> {
  // Poll the queue-depth gauge: the request is inside the server once it is counted there.
  for (;;) {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    if (/forja_inference_queue_depth\{model="slow",version="1"\} 1/.test(metrics)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function inFlight(url: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return Number(/^forja_http_requests_in_flight (\d+)/m.exec(metrics)?.[1]);
}

/** An infer request whose body arrives in two parts: it stays in flight until finish() sends the rest. */
function heldInfer(url: string): { finish(): void; response: Promise<{ status: number; json: any }> } {
  const bytes = Buffer.from(body);
  const req = http.request(`${url}/v2/models/add/infer`, { method: 'POST', headers: { ...json, 'content-length': bytes.length } });
  const response = new Promise<{ status: number; json: any }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
  req.write(bytes.subarray(0, 20));
  return { finish: () => req.end(bytes.subarray(20)), response };
}

/** Resolves when the server ends the stream; rejects when the connection is cut instead. */
async function readToEnd(res: Response): Promise<string> {
  let text = '';
  for await (const chunk of res.body!) text += Buffer.from(chunk).toString();
  return text;
}

test('SIGTERM: readiness 503 with a code and liveness 200 while a request is in flight; event streams and WebSockets end; late requests are served; the request finishes; exit 0', async () => {
  const server = await startServer(['--models', repo.dir, '--pipelines', path.join(work, 'pipelines'), '--data', path.join(work, 'data')], {
    env: { FORJA_PIPELINES__SHUTDOWN_GRACE_MS: '100' },
  });
  const submitted = await fetch(`${server.url}/api/jobs`, { method: 'POST', headers: json, body: JSON.stringify({ pipeline: 'wait' }) });
  assert.equal(submitted.status, 202);
  const { id } = (await submitted.json()) as { id: string };
  const jobEvents = await fetch(`${server.url}/api/jobs/${id}/events`);
  assert.equal(jobEvents.status, 200);
  const jobEventsEnded = readToEnd(jobEvents);
  const feed = await fetch(`${server.url}/dashboard/events`);
  assert.equal(feed.status, 200);
  const feedEnded = readToEnd(feed);
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v2/models/add/stream`);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

  const before = await inFlight(server.url);
  const held = heldInfer(server.url);
  while (await inFlight(server.url) <= before); // counted from its headers on

  const exit = server.stop('SIGTERM');
  let ready: Response;
  do ready = await fetch(`${server.url}/v2/health/ready`); while (ready.status === 200);
  assert.equal(ready.status, 503);
  assert.equal(((await ready.json()) as { code: string }).code, 'FORJA_ERR_SHUTTING_DOWN');
  assert.equal(ready.headers.get('connection'), 'close', 'draining answers ask the client to reconnect elsewhere');
  assert.equal((await fetch(`${server.url}/v2/health/live`)).status, 200);

  assert.match(await jobEventsEnded, /event: snapshot/, 'the job event stream ended without its job finishing');
  assert.match(await feedEnded, /event: snapshot/, 'the dashboard feed ended');
  assert.equal(await wsClosed, 1001);

  const lateStream = await fetch(`${server.url}/dashboard/events`);
  assert.equal(lateStream.status, 503, 'a stream the drain would end at once is refused');
  assert.equal(lateStream.headers.get('retry-after'), '1');
  assert.equal(((await lateStream.json()) as { code: string }).code, 'FORJA_ERR_SHUTTING_DOWN');
  const late = await fetch(`${server.url}/v2/models/add/infer`, { method: 'POST', headers: json, body });
  assert.equal(late.status, 200, 'a request arriving during the drain is served');

  held.finish();
  const res = await held.response;
  assert.equal(res.status, 200);
  assert.deepEqual(res.json.outputs.find((o: any) => o.name === 'SUM').data, [2, 3, 4, 5]);
  assert.equal(await exit, 0);
  await assert.rejects(fetch(`${server.url}/v2/health/live`), 'no longer listening');
});

test('server.drain_delay_ms keeps both listeners answering after SIGTERM with nothing in flight: readiness 503, gRPC health NOT_SERVING, requests served; then exit 0', async () => {
  const server = await startServer(['--models', repo.dir, '--grpc-port', '0'], { env: { FORJA_SERVER__DRAIN_DELAY_MS: '3000' } });
  const health = healthClient(server.grpcAddress!);
  try {
    assert.deepEqual(await health.Check({ service: '' }), { status: 'SERVING' });
    const exit = server.stop('SIGTERM');
    let ready: Response;
    do ready = await fetch(`${server.url}/v2/health/ready`); while (ready.status === 200);
    assert.equal(ready.status, 503, 'with no request in flight the listener is still open');
    assert.equal(((await ready.json()) as { code: string }).code, 'FORJA_ERR_SHUTTING_DOWN');
    assert.deepEqual(await health.Check({ service: '' }), { status: 'NOT_SERVING' });
    const late = await fetch(`${server.url}/v2/models/add/infer`, { method: 'POST', headers: json, body });
    assert.equal(late.status, 200);
    assert.equal(await exit, 0);
  } finally {
    health.close();
  }
});

test('a request that never finishes cannot hold the drain: past half of server.shutdown_timeout_ms its connection is closed and the process still exits 0', async () => {
  const server = await startServer(['--models', repo.dir], { env: { FORJA_SERVER__SHUTDOWN_TIMEOUT_MS: '2000', FORJA_LOG__LEVEL: 'warn' } });
  const before = await inFlight(server.url);
  const held = heldInfer(server.url); // its body is never finished
  while (await inFlight(server.url) <= before);
  const exit = server.stop('SIGTERM');
  await assert.rejects(held.response, 'the unfinished request is cut, not answered');
  assert.equal(await exit, 0);
  assert.match(server.output(), /HTTP drain timed out/);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} lets the in-flight request finish, then exits 0`, async () => {
    const server = await startServer(['--models', repo.dir]);
    const inFlightRequest = fetch(`${server.url}/v2/models/slow/infer`, { method: 'POST', body, headers: json });
    await waitForQueued(server.url);
    const exit = server.stop(signal);
    const res = await inFlightRequest;
    assert.equal(res.status, 200);
    const out = (await res.json()) as any;
    assert.deepEqual(out.outputs.find((o: any) => o.name === 'SUM').data, [2, 3, 4, 5]);
    assert.equal(await exit, 0);
    await assert.rejects(fetch(`${server.url}/v2/health/live`), 'no longer listening');
  });
}
