/**
 * The streaming benchmark through `forja bench --only streaming --quick`: it runs against a real
 * `forja serve` with the real silero VAD model (skipped when ../shared/models lacks it), and its report
 * has the shape docs/benchmarks.md describes: round trips over the WebSocket stream route and over
 * HTTP with 1 and 50 sessions, chunks/s against direct onnxruntime, each target's `met` (in the
 * targets table too), and the ratio figures the regression gate reads. Timings are the benchmark's business, not this test's: only the
 * shape is checked, and that the 50 sessions streamed without an error.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, REPO_ROOT, SHARED_MODELS } from '../helpers/server-process.js';

const VAD = path.join(SHARED_MODELS, 'onnx/silero_vad.onnx');
const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-bench-streaming-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function forjaBench(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'bench', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

const isMs = (x: any) => typeof x?.p50 === 'number' && typeof x?.p99 === 'number' && x.p50 > 0 && x.p99 >= x.p50;

test('forja bench --only streaming --quick reports WebSocket and HTTP round trips and throughput vs direct onnxruntime', { skip: existsSync(VAD) ? false : `${VAD} not present`, timeout: 180_000 }, async () => {
  const out = path.join(dir, 'report.json');
  const r = await forjaBench(['--only', 'streaming', '--quick', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(Object.keys(report.benchmarks), ['streaming']);
  const s = report.benchmarks.streaming;
  assert.equal(s.benchmark, 'streaming');
  assert.equal(s.quick, true);
  assert.equal(s.frame_samples, 576);

  const one = s.latency.one_session;
  assert.equal(one.sessions, 1);
  for (const key of ['websocket_ms', 'http_ms', 'direct_ms']) assert.ok(isMs(one[key]), `one_session.${key}: ${JSON.stringify(one[key])}`);
  assert.equal(typeof one.met, 'boolean');

  const many = s.latency.fifty_sessions;
  assert.equal(many.sessions, 50);
  for (const key of ['websocket_ms', 'http_ms']) assert.ok(isMs(many[key]), `fifty_sessions.${key}: ${JSON.stringify(many[key])}`);
  assert.deepEqual(many.errors, { websocket: 0, http: 0 }, 'every chunk of the 50 sessions was answered');
  assert.equal(typeof many.met, 'boolean');

  const t = s.throughput;
  for (const key of ['websocket', 'http', 'direct']) assert.ok(t.chunks_per_s[key] > 0, `chunks_per_s.${key}`);
  assert.ok([1, 2].includes(t.direct_best.threads) && [1, 2, 4, 8, 16, 32, 64].includes(t.direct_best.batch), JSON.stringify(t.direct_best));
  assert.equal(t.direct_sweep.length, 14, 'batches 1..64 at 1 and 2 threads');
  assert.equal(t.limit, 0.8);
  assert.equal(t.met, t.ratio_vs_direct_best >= 0.8);
  const targets = report.targets.filter((row: any) => row.path.startsWith('streaming.'));
  assert.deepEqual(targets.map((row: any) => row.path), ['streaming.latency.one_session', 'streaming.latency.fifty_sessions', 'streaming.throughput'], 'each target is in the table forja bench prints');
  for (const row of targets) assert.ok(typeof row.figure === 'number' && typeof row.met === 'boolean', JSON.stringify(row));

  for (const figure of ['latency.one_session.http_vs_websocket_p50', 'latency.fifty_sessions.http_vs_websocket_p50', 'throughput.ratio_vs_direct_best', 'throughput.websocket_vs_http_chunks_per_s']) {
    assert.ok(report.ratios[`streaming.${figure}`] > 0, `the gate reads streaming.${figure}`);
  }
});
