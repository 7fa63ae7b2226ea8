/**
 * .github/workflows: every workflow parses and has what GitHub requires (`on`, `jobs`, each job's
 * `runs-on` and `steps`, each step a `uses` or a `run`); actions are pinned at least to a major
 * version; ci.yml tests Linux, macOS and Windows on Node 20, 22 and 24 with Redis beside the Linux
 * job and runs lint, type-check, tests and npm audit; release.yml has the permissions npm provenance,
 * the ghcr.io push and cosign's keyless signing need, and builds the Dockerfile that exists.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/server-process.js';

const WORKFLOWS = path.join(REPO_ROOT, '.github', 'workflows');

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; name?: string }
interface Job {
  'runs-on'?: unknown;
  steps?: Step[];
  permissions?: Record<string, string>;
  strategy?: { matrix?: Record<string, unknown[]> };
  services?: Record<string, unknown>;
  container?: unknown;
  needs?: string | string[];
}
interface Workflow { on?: unknown; jobs?: Record<string, Job>; permissions?: Record<string, string> }

function load(file: string): Workflow {
  // `on` must stay a key: YAML 1.1 would read it as the boolean true, and the yaml package's
  // default (1.2 core schema) does not, like GitHub's parser.
  return parse(readFileSync(path.join(WORKFLOWS, file), 'utf8')) as Workflow;
}

const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort();
const runs = (job: Job) => (job.steps ?? []).map((s) => s.run ?? '').join('\n');
const uses = (job: Job) => (job.steps ?? []).map((s) => s.uses ?? '');

describe('every workflow', () => {
  test('the workflows this project needs exist', () => {
    for (const needed of ['ci.yml', 'release.yml', 'bench.yml']) assert.ok(files.includes(needed), `${needed} is missing`);
  });

  for (const file of files) {
    test(`${file}: on, jobs, runs-on and steps, each step uses or runs, actions pinned`, () => {
      const workflow = load(file);
      assert.ok(workflow.on, `${file} has no 'on'`);
      assert.ok(workflow.jobs && Object.keys(workflow.jobs).length > 0, `${file} has no jobs`);
      for (const [name, job] of Object.entries(workflow.jobs)) {
        assert.ok(job['runs-on'], `${file}: job ${name} has no runs-on`);
        assert.ok(Array.isArray(job.steps) && job.steps.length > 0, `${file}: job ${name} has no steps`);
        for (const [i, step] of job.steps.entries()) {
          assert.ok(typeof step.uses === 'string' || typeof step.run === 'string', `${file}: ${name} step ${i} has neither uses nor run`);
          assert.ok(!(step.uses && step.run), `${file}: ${name} step ${i} has both uses and run`);
          if (step.uses) assert.match(step.uses, /^[\w.-]+\/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40})$/, `${file}: ${name} step ${i}: '${step.uses}' is not pinned to a version`);
        }
        for (const need of [job.needs ?? []].flat()) assert.ok(need in workflow.jobs, `${file}: job ${name} needs unknown job ${need}`);
      }
    });
  }
});

describe('ci.yml', () => {
  const ci = load('ci.yml');
  const jobs = Object.values(ci.jobs ?? {});
  const linux = ci.jobs?.linux;

  test('runs on pushes and pull requests, with read-only permissions', () => {
    assert.deepEqual(Object.keys(ci.on as object).sort(), ['pull_request', 'push']);
    assert.deepEqual(ci.permissions, { contents: 'read' });
  });

  test('covers Linux, macOS and Windows, each on Node 20, 22 and 24', () => {
    const covered = new Set<string>();
    for (const job of jobs) {
      const matrix = job.strategy?.matrix ?? {};
      const nodes = (matrix.node ?? []) as number[];
      const runner = String(job['runs-on']);
      const oses = runner.includes('matrix.os') ? (matrix.os ?? []) as string[] : [runner];
      for (const os of oses) for (const node of nodes) covered.add(`${os.replace(/-latest$/, '')}/${node}`);
    }
    const expected = ['ubuntu', 'macos', 'windows'].flatMap((os) => [20, 22, 24].map((node) => `${os}/${node}`));
    assert.deepEqual([...covered].sort(), expected.sort());
  });

  test('Linux has Redis as a service and the tests are pointed at it', () => {
    assert.ok(linux, 'no linux job');
    assert.equal(linux['runs-on'], 'ubuntu-latest');
    assert.match(String((linux.services?.redis as { image?: string })?.image), /^redis:/);
    assert.equal((linux as { env?: Record<string, string> }).env?.FORJA_TEST_REDIS_URL, 'redis://redis:6379');
  });

  test('every job lints, type-checks, tests and audits', () => {
    const ciRun = readFileSync(path.join(REPO_ROOT, '.ci', 'run'), 'utf8');
    const testScript = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.test;
    for (const [name, job] of Object.entries(ci.jobs ?? {})) {
      // .ci/run is the project's CI entry point: npm audit, then npm test (tsc, eslint, lint:deps, tests).
      const script = runs(job).includes('.ci/run') ? `${ciRun}\n${testScript}` : runs(job);
      for (const [what, re] of [['type-check', /tsc -p tsconfig\.json/], ['lint', /eslint \./], ['dependency rules', /lint:deps/], ['audit', /npm audit --audit-level=high/], ['tests', /node --test|npm test/]] as const) {
        assert.match(script, re, `ci.yml job ${name} does not ${what}`);
      }
    }
  });
});

describe('release.yml', () => {
  const release = load('release.yml');
  const jobs = release.jobs ?? {};
  const all = Object.values(jobs);
  const jobUsing = (action: string) => all.find((job) => uses(job).some((u) => u.startsWith(`${action}@`)));

  test('release-please makes the versions and the changelog', () => {
    const job = jobUsing('googleapis/release-please-action');
    assert.ok(job, 'no job uses googleapis/release-please-action');
    assert.equal(job.permissions?.contents, 'write');
    assert.equal(job.permissions?.['pull-requests'], 'write');
    const step = job.steps!.find((s) => s.uses?.startsWith('googleapis/release-please-action@'));
    assert.equal(step?.with?.['release-type'], 'node');
  });

  test('npm publish with provenance has id-token: write, and the SBOM comes from npm sbom', () => {
    const job = all.find((j) => /npm publish/.test(runs(j)));
    assert.ok(job, 'no job publishes to npm');
    assert.match(runs(job), /npm publish --provenance/);
    assert.equal(job.permissions?.['id-token'], 'write');
    assert.match(runs(job), /npm sbom --sbom-format cyclonedx/);
  });

  test('the image is built from deploy/Dockerfile, pushed to ghcr.io and signed with cosign', () => {
    const job = jobUsing('docker/build-push-action');
    assert.ok(job, 'no job builds the image');
    const build = job.steps!.find((s) => s.uses?.startsWith('docker/build-push-action@'))!;
    assert.ok(existsSync(path.join(REPO_ROOT, String(build.with?.file))), `${String(build.with?.file)} does not exist`);
    assert.equal(build.with?.push, true);
    const login = job.steps!.find((s) => s.uses?.startsWith('docker/login-action@'));
    assert.equal(login?.with?.registry, 'ghcr.io');
    assert.ok(uses(job).some((u) => u.startsWith('sigstore/cosign-installer@')), 'cosign is not installed');
    assert.match(runs(job), /cosign sign --yes .*@\$\{\{ steps\.build\.outputs\.digest \}\}/);
    assert.equal(job.permissions?.packages, 'write');
    assert.equal(job.permissions?.['id-token'], 'write');
  });

  test('publishing waits for a release to be created', () => {
    for (const [name, job] of Object.entries(jobs)) {
      if (uses(job).some((u) => u.startsWith('googleapis/release-please-action@'))) continue;
      assert.equal(job.needs, 'release-please', `${name} does not wait for release-please`);
      assert.match(String((job as { if?: string }).if), /release_created == 'true'/, `${name} runs without a release`);
    }
  });
});
