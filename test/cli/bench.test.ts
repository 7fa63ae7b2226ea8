/**
 * `forja bench` as a regression gate, through the real CLI and a real benchmark run. Only the LLM
 * benchmark runs (`--only llm --quick`): it is the quickest of the three here (about 5-10 s; serving
 * takes over 30 s in quick mode) and, unlike the jobs benchmark, needs no Redis. Its generated tiny
 * model is written at run time, so the figure checked below always exists.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, REPO_ROOT } from '../helpers/server-process.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-bench-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FIGURE = 'llm.models.generated-tiny-llama.ratios.forja_http_vs_direct_1_stream';

function forja(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A baseline in the shape `forja bench` writes, holding only the one figure. */
function baseline(name: string, value: number): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify({ machine: {}, benchmarks: {}, ratios: { [FIGURE]: value } }));
  return file;
}

describe('forja bench --compare', () => {
  test('passes against a baseline far below this run and writes the merged report', async () => {
    const out = path.join(dir, 'low-report.json');
    const r = await forja(['bench', '--only', 'llm', '--quick', '--out', out, '--compare', baseline('low.json', 0.0001), '--tolerance', '10%']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { comparison: { compared: number; regressions: unknown[] } };
    assert.equal(summary.comparison.compared, 1);
    assert.deepEqual(summary.comparison.regressions, []);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { machine: { cpus: number; quick: boolean }; benchmarks: Record<string, unknown>; ratios: Record<string, number> };
    assert.deepEqual(Object.keys(report.benchmarks), ['llm']);
    assert.equal(report.machine.quick, true);
    assert.ok(report.machine.cpus >= 1);
    assert.ok(report.ratios[FIGURE] > 0, `report has ${FIGURE}`);
    // The targets table is printed and summarised whether or not this run states any.
    assert.match(r.stderr, /targets met\n|no targets in this report\n/);
    assert.ok(Array.isArray((summary as unknown as { targets: { unmet: unknown[] } }).targets.unmet));
  });

  test('exits 1 against a baseline far above this run and names the regressed figure', async () => {
    const r = await forja(['bench', '--only', 'llm', '--quick', '--out', path.join(dir, 'high-report.json'), '--compare', baseline('high.json', 1e9), '--tolerance', '10%']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`regression: ${FIGURE.replace(/\./g, '\\.')} 1000000000 -> `));
    const summary = JSON.parse(r.stdout) as { comparison: { regressions: Array<{ path: string }> } };
    assert.deepEqual(summary.comparison.regressions.map((x) => x.path), [FIGURE]);
  });

  test('rejects an unknown benchmark name and a missing baseline before running anything', async () => {
    const unknown = await forja(['bench', '--only', 'nope']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown benchmark 'nope'/);
    const missing = await forja(['bench', '--only', 'llm', '--compare', path.join(dir, 'absent.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read baseline/);
  });
});
