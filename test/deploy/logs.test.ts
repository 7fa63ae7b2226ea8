/**
 * deploy/loki: a real Forja's log lines are JSON, and the fields the promtail and Alloy configs
 * extract (request id, job id, model, level, time) are there: the test applies promtail's json and
 * regex stages to the lines the server wrote while serving a request and a job.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT, startServer, type ServerProcess } from '../helpers/server-process.js';
import { DEPLOY_DIR } from './tools.js';

const promtail = parse(readFileSync(path.join(DEPLOY_DIR, 'loki/promtail.yml'), 'utf8'));
const alloy = readFileSync(path.join(DEPLOY_DIR, 'loki/config.alloy'), 'utf8');
const stages = promtail.scrape_configs[0].pipeline_stages as Record<string, any>[];
const expressions = (stages.find((s) => s.json)?.json.expressions ?? {}) as Record<string, string>;
const regexes = stages.filter((s) => s.regex).map((s) => ({ source: s.regex.source as string, expression: s.regex.expression as string, re: new RegExp((s.regex.expression as string).replaceAll('(?P<', '(?<')) }));

/** promtail's json stage (dotted paths) and regex stages, applied in JS. */
function extract(line: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, jsonPath] of Object.entries(expressions)) {
    const value = jsonPath.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], line);
    if (value !== undefined) out[name] = String(value);
  }
  for (const { source, re } of regexes) Object.assign(out, re.exec(out[source] ?? '')?.groups ?? {});
  return out;
}

let dir = '';
let forja: ServerProcess | undefined;
let lines: Record<string, unknown>[] = [];
let jobId = '';
const requestId = 'deploy-logs-request-1';

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'forja-logs-'));
  mkdirSync(path.join(dir, 'pipelines'));
  writeFileSync(path.join(dir, 'pipelines', 'echo.mjs'), "export default { name: 'echo', async run(input, ctx) { return ctx.step('echo', () => input); } };\n");
  forja = await startServer(['--models', path.join(REPO_ROOT, 'examples/models'), '--pipelines', path.join(dir, 'pipelines'), '--data', path.join(dir, 'data')],
    { env: { FORJA_LOG__LEVEL: 'info', FORJA_SERVER__ACCESS_LOG: 'true' } });
  const res = await fetch(`${forja.url}/v2/models/add/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': requestId }, body: readFileSync(path.join(REPO_ROOT, 'examples/requests/add.json')) });
  assert.equal(res.status, 200);
  const job = await fetch(`${forja.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pipeline: 'echo', input: { x: 1 } }) });
  assert.equal(job.status, 202);
  jobId = ((await job.json()) as { id: string }).id;
  assert.equal((await fetch(`${forja.url}/api/jobs/${jobId}`)).status, 200);
  assert.equal(await forja.stop(), 0);
  const text = forja.output().split('\n').filter((l) => l.trim() && !l.startsWith('Forja listening on '));
  lines = text.map((l) => { try { return JSON.parse(l); } catch { assert.fail(`log line is not JSON: ${l}`); } });
});

after(async () => {
  await forja?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('every log line is a JSON object with level, time and msg', () => {
  assert.ok(lines.length > 0);
  for (const line of lines) {
    const fields = extract(line);
    assert.match(fields.level ?? '', /^(10|20|30|40|50|60)$/, JSON.stringify(line));
    assert.match(fields.time ?? '', /^\d{13}$/, 'time is Unix milliseconds (timestamp stage format UnixMs)');
    assert.equal(typeof line.msg, 'string');
  }
});

test('the request id, model and job id are extracted', () => {
  assert.ok(Object.keys(expressions).length > 0);
  const extracted = lines.map(extract);
  const request = extracted.filter((f) => f.request_id === requestId);
  assert.ok(request.length >= 1, 'the request id sent as x-request-id is on the request lines');
  assert.ok(request.some((f) => f.url_model === 'add'), 'the access-log line names the model in its URL');
  assert.ok(extracted.some((f) => f.model === 'add'), 'model lines carry the model field');
  assert.ok(extracted.some((f) => f.job_id === jobId || f.url_job_id === jobId), 'the job id is on a line');
});

test('the Alloy config extracts the same fields as promtail', () => {
  for (const [name, jsonPath] of Object.entries(expressions)) assert.match(alloy, new RegExp(`${name}\\s*=\\s*"${jsonPath.replace('.', '\\.')}"`), `alloy extracts ${name} from ${jsonPath}`);
  assert.equal(regexes.length, 2);
  for (const { expression } of regexes) assert.ok(alloy.includes(`expression = "${expression}"`), `alloy has the regex ${expression}`);
});
