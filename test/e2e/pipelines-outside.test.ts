/**
 * A pipeline project outside this checkout, with no node_modules of its own, imports `forja` and
 * `zod` (in .mjs and in .ts); a project that brings its own zod gets that one. Loaded by a real
 * `forja serve`, run over the jobs API.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO_ROOT, startServer, type ServerProcess } from '../helpers/server-process.js';

let project: string;
// tsx compiles a .ts pipeline without "type": "module" to CommonJS run from a data: URL with an inline
// source map; the coverage reporter crashes on a source map whose URL is not a file, so these children
// are not measured.
const NO_COVERAGE = { NODE_V8_COVERAGE: undefined };
let server: ServerProcess;

const GREET_MJS = `
import { z } from 'zod';
import { definePipeline, NonRetryableError } from 'forja';
export default definePipeline({
  input: z.object({ name: z.string().min(1) }),
  async run(input, ctx) {
    if (input.name === 'nobody') throw new NonRetryableError('no one to greet');
    return ctx.step('greet', () => ({ greeting: 'hello ' + input.name }));
  },
});
`;

const SHOUT_TS = `
import { z } from 'zod';
import { definePipeline, type PipelineContext } from 'forja';
const input = z.object({ word: z.string() });
export default definePipeline({
  input,
  async run(value: z.infer<typeof input>, ctx: PipelineContext) {
    return ctx.step('shout', () => value.word.toUpperCase());
  },
});
`;

before(async () => {
  project = mkdtempSync(path.join(os.tmpdir(), 'forja-project-'));
  assert.ok(!project.startsWith(REPO_ROOT));
  mkdirSync(path.join(project, 'pipelines'));
  mkdirSync(path.join(project, 'no-models'));
  writeFileSync(path.join(project, 'pipelines', 'greet.mjs'), GREET_MJS);
  writeFileSync(path.join(project, 'pipelines', 'shout.ts'), SHOUT_TS);
  // A second project whose own node_modules has a zod of its own: that one is used.
  mkdirSync(path.join(project, 'own', 'pipelines'), { recursive: true });
  mkdirSync(path.join(project, 'own', 'node_modules', 'zod'), { recursive: true });
  writeFileSync(path.join(project, 'own', 'node_modules', 'zod', 'package.json'), JSON.stringify({ name: 'zod', version: '0.0.0-own', type: 'module', exports: './index.js' }));
  writeFileSync(path.join(project, 'own', 'node_modules', 'zod', 'index.js'), "export const which = 'the project\\'s own zod';\n");
  writeFileSync(path.join(project, 'own', 'pipelines', 'which-zod.mjs'), "import { which } from 'zod';\nexport default { run: () => which };\n");
  server = await startServer(['--models', path.join(project, 'no-models'), '--pipelines', path.join(project, 'pipelines'), '--data', path.join(project, 'data')], { cwd: project, env: NO_COVERAGE });
});

after(async () => {
  assert.equal(await server?.stop(), 0);
  if (project) rmSync(project, { recursive: true, force: true });
});

async function run(base: string, pipeline: string, input: unknown): Promise<any> {
  const res = await fetch(`${base}/api/jobs`, { method: 'POST', body: JSON.stringify({ pipeline, input }), headers: { 'content-type': 'application/json' } });
  const body = await res.json() as any;
  if (res.status !== 202) return { status: res.status, ...body };
  await (await fetch(`${base}/api/jobs/${body.id}/events`)).text();
  return (await fetch(`${base}/api/jobs/${body.id}`)).json();
}

test('pipelines outside the checkout import forja and zod, in .mjs and .ts', async () => {
  const listing = await (await fetch(`${server.url}/api/pipelines`)).json() as any;
  assert.deepEqual(listing.failures, []);
  assert.deepEqual(listing.pipelines.map((p: { name: string }) => p.name).sort(), ['greet', 'shout']);
  const greeted = await run(server.url, 'greet', { name: 'ada' });
  assert.equal(greeted.state, 'succeeded', JSON.stringify(greeted.error));
  assert.deepEqual(greeted.result, { greeting: 'hello ada' });
  assert.equal((await run(server.url, 'shout', { word: 'quiet' })).result, 'QUIET');
});

test("the pipeline's zod schema validates submissions and NonRetryableError fails at once", async () => {
  const refused = await run(server.url, 'greet', { name: '' });
  assert.equal(refused.status, 400);
  assert.match(refused.error, /name/);
  const failed = await run(server.url, 'greet', { name: 'nobody' });
  assert.equal(failed.state, 'failed');
  assert.equal(failed.attempts, 1);
  assert.match(failed.error.message, /no one to greet/);
});

test("a project's own zod wins over Forja's", async () => {
  const own = await startServer(['--models', path.join(project, 'no-models'), '--pipelines', path.join(project, 'own', 'pipelines'), '--data', path.join(project, 'own', 'data')], { cwd: project, env: NO_COVERAGE });
  try {
    const job = await run(own.url, 'which-zod', {});
    assert.equal(job.result, "the project's own zod");
  } finally {
    assert.equal(await own.stop(), 0);
  }
});
