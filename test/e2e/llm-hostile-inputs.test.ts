/**
 * Requests whose cost would grow with their size on the event loop (a huge JSON schema, a 10 MB
 * prompt or embeddings input, long stop sequences) are refused from their size before the work,
 * and the real server's liveness probe keeps answering within 100 ms while each is in flight.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { on } from 'node:events';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { writeTinyLlamaGguf } from '../helpers/gguf-writer.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { startServer, type ServerProcess } from '../helpers/server-process.js';

let repo: TempRepo;
let server: ServerProcess;

before(async () => {
  repo = tempRepo();
  writeTinyLlamaGguf(path.join(repo.dir, 'tiny.gguf'));
  server = await startServer(['--models', repo.dir]);
});
after(async () => {
  assert.equal(await server.stop(), 0);
  repo.remove();
});

/**
 * Polls /v2/health/live back to back from a worker thread (its own event loop, so the test's own
 * work on the big bodies does not colour the figures) until told to stop; reports the slowest answer.
 */
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
let done = false;
let slowest = 0;
let probes = 0;
parentPort.on('message', () => { done = true; });
(async () => {
  // A first probe opens the connection; only the probes after it are measured.
  await (await fetch(workerData.url)).arrayBuffer();
  parentPort.postMessage({ ready: true });
  while (!done) {
    const started = performance.now();
    await (await fetch(workerData.url)).arrayBuffer();
    slowest = Math.max(slowest, performance.now() - started);
    probes++;
  }
  parentPort.postMessage({ slowest, probes });
})();
`;

async function whilePolling(route: string, body: unknown): Promise<{ status: number; error: { code: string; param: string | null; message: string }; slowestMs: number; probes: number }> {
  const payload = JSON.stringify(body);
  const worker = new Worker(POLLER, { eval: true, workerData: { url: `${server.url}/v2/health/live` } });
  const messages = on(worker, 'message');
  await messages.next(); // ready
  try {
    const res = await fetch(`${server.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
    const answer = await res.json() as { error: { code: string; param: string | null; message: string } };
    worker.postMessage('stop');
    const { value } = await messages.next() as { value: [{ slowest: number; probes: number }] };
    return { status: res.status, error: answer.error, slowestMs: value[0].slowest, probes: value[0].probes };
  } finally {
    await worker.terminate();
  }
}

/**
 * The contract is 100 ms; the bound is generous because parsing a body of a few MB (which every
 * server must do) is itself tens of ms, several times that on a loaded two-core machine.
 */
const GENEROUS_MS = 250;
const THREE_MB = 'word '.repeat(600 * 1024);
const cases: Array<[string, string, unknown, number, string, string | null]> = [
  ['a json_schema with a 100,000-string enum', '/v1/chat/completions',
    { model: 'tiny', messages: [{ role: 'user', content: 'pick' }], response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { enum: Array.from({ length: 100_000 }, (_, i) => `value-${i}`) } } } },
    400, 'unsupported_parameter', 'response_format'],
  ['a 3 MB chat message', '/v1/chat/completions', { model: 'tiny', messages: [{ role: 'user', content: THREE_MB }] }, 400, 'context_length_exceeded', 'messages'],
  ['a chat of 20,000 one-letter messages', '/v1/chat/completions', { model: 'tiny', messages: Array.from({ length: 20_000 }, () => ({ role: 'user', content: 'a' })) }, 400, 'context_length_exceeded', 'messages'],
  ['a 3 MB completions prompt', '/v1/completions', { model: 'tiny', prompt: THREE_MB }, 400, 'context_length_exceeded', 'prompt'],
  ['a 3 MB completions prompt in an array', '/v1/completions', { model: 'tiny', prompt: [THREE_MB] }, 400, 'context_length_exceeded', 'prompt'],
  ['a 3 MB embeddings input', '/v1/embeddings', { model: 'tiny', input: ['short', THREE_MB] }, 400, 'context_length_exceeded', 'input'],
  ['stop sequences of 1 MB', '/v1/completions', { model: 'tiny', prompt: 'hi', max_tokens: 5, stop: ['x'.repeat(1 << 20), 'y'.repeat(1 << 20)] }, 400, 'invalid_value', 'stop'],
];

for (const [what, route, body, status, code, param] of cases) {
  test(`${what} is refused from its size, and /v2/health/live answers within 100 ms meanwhile`, { timeout: 180_000 }, async () => {
    // The contract's one timing figure, measured robustly on a shared machine. Every server must
    // read and parse the body, which on a loaded machine alone can exceed the figure, so each
    // attempt also sends the same body for a model that does not exist (parsed, then 404) as a
    // baseline. An attempt passes when the slowest probe is within GENEROUS_MS, or within
    // 100 ms of twice the baseline's slowest; one of three must pass. A server that works on the
    // request on its event loop misses every time (tokenizing 3 MB held it for 4-5 s here).
    const attempts: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const baseline = await whilePolling(route, { ...(body as object), model: 'no-such-model' });
      const result = await whilePolling(route, body);
      assert.equal(result.status, status, JSON.stringify(result.error));
      assert.equal(result.error.code, code);
      if (param === null) assert.equal(result.error.param, null);
      else assert.match(String(result.error.param), new RegExp(`^${param}`));
      attempts.push(`${result.slowestMs.toFixed(1)} ms over ${result.probes} probes (baseline ${baseline.slowestMs.toFixed(1)} ms)`);
      if (result.probes > 0 && (result.slowestMs < GENEROUS_MS || result.slowestMs < 2 * baseline.slowestMs + 100)) return;
    }
    assert.fail(`the slowest liveness probe took ${attempts.join(', ')}`);
  });
}
