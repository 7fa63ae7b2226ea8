/** Loading a pipelines directory: good modules load; a broken one is reported by name and does not stop the others. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { loadPipelineDirectory } from '../../src/pipelines/pipeline-loader.js';
import { tempDir } from './helpers.js';

it('loads good modules and reports each bad one by file and name', async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'plain.mjs'), 'export default { run: async (input) => input };\n');
  fs.writeFileSync(path.join(dir, 'named.js'), 'export default { name: "renamed", concurrency: 2, run() { return 1; } };\n');
  fs.writeFileSync(path.join(dir, 'syntax.mjs'), 'export default {{;\n');
  fs.writeFileSync(path.join(dir, 'throws.mjs'), 'throw new Error("module init failed");\n');
  fs.writeFileSync(path.join(dir, 'norun.mjs'), 'export default { name: "x" };\n');
  fs.writeFileSync(path.join(dir, 'badcron.mjs'), 'export default { schedule: "every minute", run() {} };\n');
  fs.writeFileSync(path.join(dir, 'typed.mts'), 'interface In { n: number }\nconst double = (n: number): number => n * 2;\nexport default { run: async (input: In) => double(input.n) };\n');
  fs.writeFileSync(path.join(dir, 'broken.ts'), 'export default {{ run: (x: number) => x };\n');
  fs.writeFileSync(path.join(dir, 'README.md'), 'not a module\n');
  const { pipelines, failures } = await loadPipelineDirectory(dir);
  assert.deepEqual(pipelines.map((p) => p.name).sort(), ['plain', 'renamed', 'typed']);
  const byName = Object.fromEntries(failures.map((f) => [f.name, f.error]));
  assert.deepEqual(Object.keys(byName).sort(), ['badcron', 'broken', 'norun', 'syntax', 'throws']);
  assert.match(byName.throws, /module init failed/);
  assert.match(byName.norun, /no run/);
  assert.match(byName.badcron, /cron/);
  const typed = pipelines.find((p) => p.name === 'typed')!;
  assert.equal(await typed.definition.run({ n: 21 }, {} as never), 42, 'a TypeScript module is compiled and runs');
});

it('reports a missing directory instead of throwing', async () => {
  const { pipelines, failures } = await loadPipelineDirectory(path.join(tempDir(), 'missing'));
  assert.equal(pipelines.length, 0);
  assert.match(failures[0].error, /cannot read/);
});
