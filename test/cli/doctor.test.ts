/**
 * `forja doctor` as a user runs it: the real CLI in a child process, on repositories written at
 * test time with the real onnxruntime-node, a corrupt model, an unwritable data directory and an
 * invalid config file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from '../helpers/server-process.js';
import { writeAddModel, writeCorruptModel } from '../helpers/onnx-models.js';

let root: string;

/** A clean environment: no FORJA_* variables from the surrounding shell change the result. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FORJA_')));
}

function doctor(cwd: string, args: string[]) {
  const run = spawnSync(process.execPath, [CLI, 'doctor', ...args], { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 120_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The table line of a check: "<mark> <group>  <name>  <detail>". */
function row(stdout: string, name: string): string {
  const line = stdout.split('\n').find((l) => new RegExp(`^[✓✗!-] \\S+\\s+${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s`).test(l));
  assert.ok(line, `no row for ${name} in:\n${stdout}`);
  return line;
}

before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'forja-doctor-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('forja doctor', () => {
  test('a healthy repository: exit 0, every required row ✓, the model loaded', () => {
    const dir = path.join(root, 'healthy');
    mkdirSync(path.join(dir, 'models', 'add', '1'), { recursive: true });
    writeAddModel(path.join(dir, 'models', 'add', '1', 'model.onnx'));
    const run = doctor(dir, ['-m', 'models', '--data', 'data']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    for (const name of ['Node.js', 'onnxruntime-node', 'configuration', 'data directory', 'repository']) assert.match(row(run.stdout, name), /^✓/);
    assert.match(row(run.stdout, 'model add v1'), /^✓ .*loads on (cpu|gpu)/);
    assert.doesNotMatch(run.stdout, /^✗/m);
    assert.match(run.stdout, /0 failed/);
  });

  test('a corrupt model and an unwritable data directory: exit 1, ✗ rows with hints', () => {
    const dir = path.join(root, 'broken');
    mkdirSync(path.join(dir, 'models', 'add', '1'), { recursive: true });
    writeAddModel(path.join(dir, 'models', 'add', '1', 'model.onnx'));
    writeCorruptModel(path.join(dir, 'models', 'broken.onnx'));
    // A data directory below a regular file cannot be created, whoever runs the test (root included).
    writeFileSync(path.join(dir, 'not-a-dir'), 'x');
    const run = doctor(dir, ['-m', 'models', '--data', 'not-a-dir/data']);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const lines = run.stdout.split('\n');
    const broken = row(run.stdout, 'model broken v1');
    assert.match(broken, /^✗ /);
    assert.match(lines[lines.indexOf(broken) + 1], /→ .*(re-export|damaged)/, 'a hint follows the failure');
    const data = row(run.stdout, 'data directory');
    assert.match(data, /^✗ .*not writable/);
    assert.match(lines[lines.indexOf(data) + 1], /→ .*data\.dir/);
    assert.match(row(run.stdout, 'model add v1'), /^✓/, 'the good model is still reported as loadable');
  });

  test('a GGUF with a valid magic and junk after it: ✗ with the reason, the run still ends', () => {
    const dir = path.join(root, 'junk-gguf');
    mkdirSync(path.join(dir, 'models'), { recursive: true });
    writeFileSync(path.join(dir, 'models', 'junk.gguf'), Buffer.from('GGUF\x03\x00\x00\x00garbage', 'latin1'));
    const run = doctor(dir, ['-m', 'models', '--data', 'data']);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(row(run.stdout, 'model junk v1'), /^✗ .*unreadable header or metadata .*past the end of the file/);
  });

  test('an invalid config file: exit 1, ✗ naming the bad key, other checks still run', () => {
    const dir = path.join(root, 'bad-config');
    mkdirSync(path.join(dir, 'models'), { recursive: true });
    writeFileSync(path.join(dir, 'forja.yaml'), 'models:\n  bogus: 1\nserver:\n  port: 99999\n');
    const run = doctor(dir, ['-m', 'models', '--data', 'data']);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const config = row(run.stdout, 'configuration');
    assert.match(config, /^✗ .*models\.bogus: unknown key/);
    assert.match(config, /server\.port/);
    assert.match(run.stdout, /→ .*docs\/configuration\.md/);
    assert.match(row(run.stdout, 'Node.js'), /^✓/);
  });

  test('--json prints one parsable report with every check and the overall result', () => {
    const dir = path.join(root, 'broken');
    const run = doctor(dir, ['-m', 'models', '--data', 'not-a-dir/data', '--json']);
    assert.equal(run.code, 1);
    const report = JSON.parse(run.stdout);
    assert.equal(report.ok, false);
    assert.ok(report.counts.fail >= 2);
    const broken = report.checks.find((c: any) => c.name === 'model broken v1');
    assert.equal(broken.status, 'fail');
    assert.equal(typeof broken.hint, 'string');
    for (const c of report.checks) {
      assert.ok(['pass', 'warn', 'fail', 'skip'].includes(c.status));
      assert.equal(typeof c.group, 'string');
      assert.equal(typeof c.detail, 'string');
    }
    const healthy = JSON.parse(doctor(path.join(root, 'healthy'), ['-m', 'models', '--data', 'data', '--json']).stdout);
    assert.equal(healthy.ok, true);
  });
});
