/**
 * Malformed requests never crash the server or produce an unintended 5xx: a seeded generator mutates
 * valid v2 and OpenAI requests (types swapped, fields dropped, shapes and sizes wrong, bytes cut) and
 * sends them to a real server; every answer must be a 4xx with an error body, and the server must still
 * serve a valid request afterwards.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel, writeIdentityModel } from '../helpers/onnx-models.js';

let repo: TempRepo;
let server: ServerProcess;

before(async () => {
  repo = tempRepo();
  writeAddModel(repo.versionPath('add', '1'));
  writeIdentityModel(repo.versionPath('text', '1'), 'BYTES');
  server = await startServer(['--models', repo.dir]);
});

after(async () => {
  assert.equal(await server.stop(), 0, 'the server exits cleanly after the barrage');
  repo.remove();
});

/** A small deterministic generator so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

const ODD_VALUES: unknown[] = [null, true, -1, 0, 1e308, -1e308, 2 ** 53 + 1, '', 'x'.repeat(300), '..', '__proto__', [], {}, [[[]]], { __proto__: { polluted: 1 } }, 'FP32', [1, 'a', null], -0.5];

function mutate(value: unknown, random: () => number, depth = 0): unknown {
  const r = random();
  if (r < 0.15 || depth > 4) return ODD_VALUES[Math.floor(random() * ODD_VALUES.length)];
  if (Array.isArray(value)) {
    const copy = value.map((v) => (random() < 0.3 ? mutate(v, random, depth + 1) : v));
    if (random() < 0.2) copy.pop();
    if (random() < 0.2) copy.push(mutate(copy[0], random, depth + 1));
    return copy;
  }
  if (value && typeof value === 'object') {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const key of Object.keys(copy)) {
      const p = random();
      if (p < 0.15) delete copy[key];
      else if (p < 0.5) copy[key] = mutate(copy[key], random, depth + 1);
    }
    if (random() < 0.1) copy[`extra${Math.floor(random() * 10)}`] = mutate(null, random, depth + 1);
    return copy;
  }
  return ODD_VALUES[Math.floor(random() * ODD_VALUES.length)];
}

const VALID_V2 = { id: 'x', inputs: [
  { name: 'A', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
  { name: 'B', shape: [1, 4], datatype: 'FP32', data: [[1, 1, 1, 1]] },
], outputs: [{ name: 'SUM', parameters: { binary_data: false } }], parameters: { binary_data_output: false } };
const VALID_BYTES = { inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: 'BYTES', data: ['a', 'b', 'c'] }] };

test('800 mutated requests: no crash and no 5xx', async () => {
  const random = rng(20261123);
  const targets = ['/v2/models/add/infer', '/v2/models/text/infer', '/v2/models/add/versions/1/infer', '/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v2/repository/index'];
  const failures: string[] = [];
  for (let i = 0; i < 800; i++) {
    const target = targets[Math.floor(random() * targets.length)];
    const base = target.includes('text') ? VALID_BYTES : target.startsWith('/v1') ? { model: 'add', messages: [{ role: 'user', content: 'hi' }], prompt: 'hi', input: 'hi', max_tokens: 2 } : VALID_V2;
    let body = JSON.stringify(mutate(base, random));
    if (random() < 0.1) body = body.slice(0, Math.floor(random() * body.length)); // cut short: malformed JSON
    const headers: Record<string, string> = { 'content-type': random() < 0.9 ? 'application/json' : 'text/plain' };
    if (random() < 0.1) headers['inference-header-content-length'] = String(Math.floor(random() * body.length * 2) - 5);
    const res = await fetch(server.url + target, { method: 'POST', body, headers });
    const text = await res.text();
    if (res.status >= 500) failures.push(`${res.status} ${target} ${body.slice(0, 200)} -> ${text.slice(0, 200)}`);
    else if (res.status >= 400 && !text.includes('"error"')) failures.push(`${res.status} without an error body: ${target} ${text.slice(0, 100)}`);
  }
  assert.deepEqual(failures, []);
  const ok = await fetch(`${server.url}/v2/models/add/infer`, { method: 'POST', body: JSON.stringify(VALID_V2), headers: { 'content-type': 'application/json' } });
  assert.equal(ok.status, 200);
});
