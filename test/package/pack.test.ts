/**
 * The npm package as a user gets it. `npm pack` must hold what `npx forja` needs (the compiled
 * server, the types the package exports, the dashboard bundle, the protocol files) and nothing
 * else; the tarball, installed into a new project, must run `forja --version`, serve an ONNX model
 * (one infer over HTTP, then SIGTERM and exit 0), pass `forja doctor`, and say that `forja bench`
 * needs a checkout. Slow (a real install, native modules included), so it is one file.
 *
 * The install uses --prefer-offline, not --offline: `npm ci` fills the cache with tarballs only (it
 * installs from the lockfile and never fetches the registry's package documents), while installing
 * a tarball into a new project resolves its dependency ranges, which needs those documents. With
 * --prefer-offline npm fetches only what the cache lacks.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeAddModel } from '../helpers/onnx-models.js';
import { REPO_ROOT, startServer } from '../helpers/server-process.js';

const WINDOWS = process.platform === 'win32';
const INSTALL_TIMEOUT_MS = 20 * 60_000;

/** npm and npx are .cmd files on Windows, which only a shell runs. */
const npmVersion = spawnSync('npm', ['--version'], { shell: WINDOWS, encoding: 'utf8' });
const npmMissing = npmVersion.status === 0 ? undefined : `npm is not available (${npmVersion.error?.message ?? npmVersion.stderr}); the package test needs it`;

/**
 * The environment without the npm_* variables an `npm test` run sets, which would steer the nested
 * npm, and without c8's NODE_V8_COVERAGE: an install runs hundreds of node processes whose coverage
 * of npm and node-gyp is no one's.
 */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key) && key !== 'NODE_V8_COVERAGE') env[key] = value;
  return { ...env, ...extra };
}

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs a command to its end without blocking the event loop. */
function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: cleanEnv(options.env), shell: WINDOWS, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const SHIPPED = [
  /^package\.json$/, /^README\.md$/, /^LICENSE$/,
  /^dist\/src\/.+\.js$/, /^dist\/src\/.+\.d\.ts$/,
  /^dist\/dashboard\/app\.(js|css)$/,
  /^proto\/[^/]+\.proto$/,
];

/** The relative specifiers a compiled module or declaration file imports (static imports and re-exports). */
function relativeImports(text: string): string[] {
  return [...text.matchAll(/(?:from|import)\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
}

describe('the npm package', { skip: npmMissing, timeout: INSTALL_TIMEOUT_MS + 5 * 60_000 }, () => {
  let work: string;
  let tarball: string;
  let files: string[];
  let project: string;
  let version: string;

  before(async () => {
    assert.ok(existsSync(path.join(REPO_ROOT, 'dist/dashboard/app.js')), 'build the dashboard first: node scripts/build-dashboard.mjs');
    work = mkdtempSync(path.join(os.tmpdir(), 'forja-pack-'));
    version = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    // --ignore-scripts: `prepare` would recompile dist/ while other test files run from it; the
    // test run has just built it, and which files go in is decided by package.json "files" alone.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: REPO_ROOT });
    assert.equal(packed.code, 0, `npm pack failed:\n${packed.stderr}`);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = path.join(work, info.filename);
    files = info.files.map((f) => f.path);
  });
  after(() => { if (work) rmSync(work, { recursive: true, force: true }); });

  test('holds the compiled server, its types, the dashboard bundle and the protocol files, and nothing else', () => {
    const stray = files.filter((f) => !SHIPPED.some((re) => re.test(f)));
    assert.deepEqual(stray, [], 'files that npx forja does not need (tests, benchmarks, sources, source maps)');
    for (const needed of ['dist/src/cli/main.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/dashboard/app.js', 'dist/dashboard/app.css']) {
      assert.ok(files.includes(needed), `${needed} is missing`);
    }
    for (const proto of readdirSync(path.join(REPO_ROOT, 'proto'))) assert.ok(files.includes(`proto/${proto}`), `proto/${proto} is missing`);
  });

  test('every relative import of a shipped module or declaration resolves inside the package', () => {
    const shipped = new Set(files);
    const unresolved: string[] = [];
    for (const file of files.filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))) {
      if (file.startsWith('dist/dashboard/')) continue; // a bundle: it imports nothing
      for (const spec of relativeImports(readFileSync(path.join(REPO_ROOT, file), 'utf8'))) {
        const target = path.posix.join(path.posix.dirname(file), spec);
        // A declaration names the .js module; its types are in the .d.ts next to it.
        const candidates = file.endsWith('.d.ts') ? [target.replace(/\.js$/, '.d.ts'), target] : [target];
        if (!candidates.some((c) => shipped.has(c))) unresolved.push(`${file} -> ${spec}`);
      }
    }
    assert.deepEqual(unresolved, []);
  });

  describe('installed into a new project', () => {
    before(async () => {
      project = path.join(work, 'project');
      mkdirSync(path.join(project, 'models'), { recursive: true });
      // The allowScripts block the README gives users: onnxruntime-node's script would fetch CUDA
      // libraries, protobufjs's is not needed; a tarball is a non-registry source, whose `prepare`
      // (tsc) npm would otherwise list as unreviewed.
      writeFileSync(path.join(project, 'package.json'), JSON.stringify({
        name: 'forja-package-test', version: '1.0.0', private: true,
        allowScripts: { 'better-sqlite3': true, 'esbuild': true, 'msgpackr-extract': true, 'node-llama-cpp': true, 'onnxruntime-node': false, 'protobufjs': false, 'forja': false },
      }, null, 2));
      writeAddModel(path.join(project, 'models', 'add.onnx'));
      // ONNXRUNTIME_NODE_INSTALL=skip does what allowScripts does for npm releases before 11.16, which ignore it.
      const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: project, env: { ONNXRUNTIME_NODE_INSTALL: 'skip' } });
      assert.equal(installed.code, 0, `npm install of the tarball failed:\n${installed.stdout}\n${installed.stderr}`);
    }, { timeout: INSTALL_TIMEOUT_MS });

    test('installs without compiling: the package holds no tsconfig and no source to compile', () => {
      const root = path.join(project, 'node_modules', 'forja');
      assert.ok(existsSync(path.join(root, 'dist/src/cli/main.js')));
      assert.equal(existsSync(path.join(root, 'tsconfig.json')), false);
      assert.equal(existsSync(path.join(root, 'src')), false);
    });

    test('npx forja --version prints the package version', async () => {
      const result = await run('npx', ['forja', '--version'], { cwd: project });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), version);
    });

    test('forja serve answers an infer, then stops on SIGTERM with exit 0', async () => {
      // The file npx runs (package.json "bin"), started directly: npx puts `sh -c` between itself
      // and the server, which does not pass SIGTERM on, so only the server's own exit code counts.
      const bin = (JSON.parse(readFileSync(path.join(project, 'node_modules/forja/package.json'), 'utf8')) as { bin: { forja: string } }).bin.forja;
      const server = await startServer(['--models', 'models', '--data', path.join(project, 'data')], { cli: path.join(project, 'node_modules/forja', bin), cwd: project });
      try {
        const res = await fetch(`${server.url}/v2/models/add/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [
            { name: 'A', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
            { name: 'B', datatype: 'FP32', shape: [1, 4], data: [10, 20, 30, 40] },
          ] }),
        });
        assert.equal(res.status, 200, await res.clone().text());
        const body = (await res.json()) as { outputs: Array<{ name: string; data: number[] }> };
        assert.deepEqual(body.outputs.find((o) => o.name === 'SUM')?.data, [11, 22, 33, 44]);
        assert.deepEqual(body.outputs.find((o) => o.name === 'DIFF')?.data, [-9, -18, -27, -36]);
      } finally {
        const code = await server.stop('SIGTERM');
        // Windows has no SIGTERM to catch: kill() ends the process there, so no exit code is asserted.
        if (!WINDOWS) assert.equal(code, 0, server.output());
      }
    });

    test('npx forja doctor finds both runtimes and passes', async () => {
      // Port 0: doctor checks that the listen address is free, and 8080 may be taken on this machine.
      const result = await run('npx', ['forja', 'doctor', '--json', '--models', 'models', '--data', path.join(project, 'data')], { cwd: project, env: { FORJA_SERVER__PORT: '0' } });
      const report = JSON.parse(result.stdout) as { ok: boolean; checks: Array<{ name: string; status: string; detail: string }> };
      const failed = report.checks.filter((c) => c.status === 'fail').map((c) => `${c.name}: ${c.detail}`);
      assert.deepEqual(failed, []);
      assert.equal(result.code, 0, result.stderr);
      for (const runtime of ['onnxruntime-node', 'node-llama-cpp']) {
        assert.equal(report.checks.find((c) => c.name === runtime)?.status, 'pass', `${runtime} did not load from the installed package`);
      }
    });

    test('npx forja bench says that the benchmarks need a checkout', async () => {
      const result = await run('npx', ['forja', 'bench', '--quick'], { cwd: project });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /forja bench: the benchmarks are not installed .* runs from a checkout of the Forja repository/);
    });
  });
});
