/**
 * `forja bench load` through the real CLI against a real `forja serve` child serving the add model.
 * No timing thresholds: the passing run uses SLOs no machine misses, the failing one an SLO no
 * machine meets.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, startServer, type ServerProcess } from '../helpers/server-process.js';
import { writeAddModel } from '../helpers/onnx-models.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-bench-load-'));
let server: ServerProcess;

before(async () => {
  mkdirSync(path.join(dir, 'models/add/1'), { recursive: true });
  writeAddModel(path.join(dir, 'models/add/1/model.onnx'));
  server = await startServer(['--models', path.join(dir, 'models')]);
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function forja(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // An empty working directory, so no ./forja.yaml of the repository is read for the SLOs.
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface LoadReport {
  requests: number; ok: number; errors: number; error_rate: number; throughput_rps: number; mode: string;
  latency_ms: { p50: number; p95: number; p99: number };
  slo: { pass: boolean; failed: string[]; targets: Record<string, number> };
}

describe('forja bench load', () => {
  test('concurrency mode within generous SLOs: exit 0 and the figures as JSON', async () => {
    const r = await forja(['bench', 'load', '--url', server.url, '--model', 'add', '--concurrency', '2', '--duration', '1', '--slo-p95-ms', '60000', '--slo-p99-ms', '60000', '--slo-error-rate', '0']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const report = JSON.parse(r.stdout) as LoadReport;
    assert.equal(report.mode, 'concurrency');
    assert.ok(report.requests > 0);
    assert.equal(report.ok, report.requests, 'every request built from the metadata succeeds');
    assert.equal(report.errors, 0);
    assert.equal(report.error_rate, 0);
    assert.ok(report.throughput_rps > 0);
    for (const p of ['p50', 'p95', 'p99'] as const) assert.equal(typeof report.latency_ms[p], 'number');
    assert.ok(report.latency_ms.p50 <= report.latency_ms.p95 && report.latency_ms.p95 <= report.latency_ms.p99);
    assert.deepEqual(report.slo, { ...report.slo, pass: true, failed: [] });
  });

  test('rate mode reads the SLOs from the config file; an impossible p95 fails naming it', async () => {
    const config = path.join(dir, 'slo.yaml');
    writeFileSync(config, 'slo:\n  p95_ms: 0.000001\n  p99_ms: 60000\n  error_rate: 1\n');
    const r = await forja(['bench', 'load', '--url', server.url, '--model', 'add', '--rate', '50', '--duration', '1', '--config', config]);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as LoadReport;
    assert.equal(report.mode, 'rate');
    assert.ok(report.requests > 0 && report.requests <= 50, `at most rate x duration requests, got ${report.requests}`);
    assert.equal(report.slo.targets.p95_ms, 0.000001);
    assert.deepEqual(report.slo.failed, ['p95_ms']);
    assert.match(r.stderr, /SLO p95_ms failed/);
  });

  test('a request body from a file is sent as given', async () => {
    const body = path.join(dir, 'bad-body.json');
    writeFileSync(body, JSON.stringify({ inputs: [{ name: 'A', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }));
    const r = await forja(['bench', 'load', '--url', server.url, '--model', 'add', '--body', body, '--concurrency', '1', '--max-requests', '3', '--duration', '5', '--slo-error-rate', '0']);
    // The add model wants A and B of width 4: every request is a 400, so the error rate SLO fails.
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as LoadReport & { outcomes: Record<string, number> };
    assert.equal(report.requests, 3);
    assert.deepEqual(report.outcomes, { 400: 3 });
    assert.ok(report.slo.failed.includes('error_rate'));
  });

  test('an unknown model is a clear error, exit 1', async () => {
    const r = await forja(['bench', 'load', '--url', server.url, '--model', 'no_such_model', '--duration', '1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /model 'no_such_model' not found/);
    assert.equal(r.stdout, '');
  });

  test('--concurrency and --rate together are refused', async () => {
    const r = await forja(['bench', 'load', '--url', server.url, '--model', 'add', '--concurrency', '1', '--rate', '1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not both/);
  });
});
