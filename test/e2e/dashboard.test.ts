/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against a real
 * `forja serve` child process: the page loads under its CSP, an HTTP inference shows in the model's
 * counters, an open WebSocket session and a gRPC call show in the traffic panel (sessions open, requests
 * by protocol) and the session count falls back when the socket closes, a job runs to done, a failing job's HTML error renders as text and a click on Retry
 * makes it succeed, a click on Cancel stops a running job (its step shows cancelled), and a click on a
 * job's id opens its view with its steps and stored log. A screenshot goes to test-artifacts/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import WebSocket from 'ws';
import { BROWSER_SKIP, launchBrowser, watchPage } from '../helpers/browser.js';
import { REPO_ROOT, startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel, writeCorruptModel } from '../helpers/onnx-models.js';
import { inferenceClient } from '../helpers/grpc-client.js';


const HOSTILE = '<img src=x id="injected"> <b>upstream</b> refused';

// A pipeline whose `work` step fails while a flag file exists (so a retry after removing it succeeds),
// and one that waits until it is cancelled.
const PIPELINES = {
  'flaky.mjs': `import { existsSync } from 'node:fs';
export default {
  name: 'flaky',
  retry: { attempts: 1 },
  async run(input, ctx) {
    const prepared = await ctx.step('prepare', async ({ log }) => { log('preparing', { n: input.n ?? 1 }); return { n: input.n ?? 1 }; });
    ctx.log(${JSON.stringify(HOSTILE)});
    await ctx.step('work', async () => {
      if (input.failWhile && existsSync(input.failWhile)) throw new Error(${JSON.stringify(HOSTILE)});
      return { ok: true };
    }, { retry: { attempts: 1 } });
    return { n: prepared.n };
  },
};
`,
  'slow.mjs': `export default {
  name: 'slow',
  retry: { attempts: 1 },
  async run(_input, ctx) {
    await ctx.step('wait', ({ signal }) => new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, 60_000);
      signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason ?? new Error('aborted')); });
    }));
    return {};
  },
};
`,
};

let repo: TempRepo;
let work: string;
let server: ServerProcess;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

async function post(urlPath: string, body: unknown) {
  const res = await fetch(server.url + urlPath, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as any };
}

const jobRow = (id: string, state: string) => `#recent-jobs tr[data-job="${id}"][data-state="${state}"]`;

describe('dashboard in a browser', { skip: BROWSER_SKIP, timeout: 120_000 }, () => {
  before(async () => {
    repo = tempRepo();
    writeAddModel(repo.versionPath('add', '1'));
    // The add model with B as server-kept state fed by SUM: a running sum, streamed as a session.
    writeAddModel(repo.versionPath('acc', '1'));
    repo.modelYaml('acc', 'sequence:\n  state:\n    - { input: B, output: SUM }\n');
    writeCorruptModel(path.join(repo.dir, 'broken.onnx'));
    work = mkdtempSync(path.join(os.tmpdir(), 'forja-dash-'));
    const pipelinesDir = path.join(work, 'pipelines');
    mkdirSync(pipelinesDir);
    for (const [file, source] of Object.entries(PIPELINES)) writeFileSync(path.join(pipelinesDir, file), source);
    server = await startServer(['--models', repo.dir, '--pipelines', pipelinesDir, '--data', path.join(work, 'data'), '--grpc-port', '0']);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await watchPage(page, pageErrors, { consoleErrors: true });
  });

  after(async () => {
    // Stop the server while the page still holds its event stream: draining must not wait on it.
    const code = await server?.stop();
    await browser?.close();
    repo?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
    assert.equal(code, 0, `forja exited with ${code}:\n${server?.output()}`);
  });

  test('the page loads with its security headers and shows models, banners and the machine', async () => {
    const response = await page.goto(server.url + '/');
    assert.ok(response);
    const headers = response.headers();
    assert.match(headers['content-security-policy'], /script-src 'self'/);
    assert.doesNotMatch(headers['content-security-policy'], /unsafe-inline/);
    assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['referrer-policy'], 'no-referrer');

    await page.waitForSelector('#models-table tr[data-model="add"] .state-ready');
    await page.waitForSelector('#banners .banner[data-kind="load-failed"]');
    assert.match(await page.textContent('#banners') ?? '', /broken v1 failed to load/);
    assert.match(await page.textContent('#machine [data-field="rss"]') ?? '', /MiB|GiB/);
    await page.waitForSelector('#connection.conn-live');
  });

  test('an inference over HTTP shows up in the counters without a reload', async () => {
    const before = Number((await page.textContent('tr[data-model="add"] [data-field="requests"]'))?.trim().split(' ')[0]);
    const res = await post('/v2/models/add/infer', { inputs: [
      { name: 'A', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
      { name: 'B', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
    ] });
    assert.equal(res.status, 200);
    await page.waitForFunction((n) => {
      const cell = document.querySelector('tr[data-model="add"] [data-field="requests"]');
      return cell !== null && Number(cell.textContent?.trim().split(' ')[0]) >= n;
    }, before + 1);
  });

  test('an open WebSocket session and a gRPC call show as streaming sessions and requests by protocol', async () => {
    const cell = (model: string, field: string) => `#traffic-table tr[data-model="${model}"] ${field}`;
    const showsAtLeast = (selector: string, n: number) => page.waitForFunction(([sel, min]) => {
      const el = document.querySelector(sel as string);
      return el !== null && Number(el.textContent?.trim().split(' ')[0]) >= (min as number);
    }, [selector, n] as const);
    await page.waitForSelector(cell('acc', '[data-field="sessions"]'));
    assert.equal((await page.textContent(cell('acc', '[data-field="sessions"]')))?.trim(), '0');

    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v2/models/acc/stream`);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const closed = new Promise((resolve) => ws.once('close', resolve));
    const reply = new Promise<any>((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));
    ws.send(JSON.stringify({ inputs: [{ name: 'A', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }));
    assert.deepEqual((await reply).outputs.map((o: any) => o.name), ['DIFF'], 'the state output stays on the server');
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.trim() === '1', cell('acc', '[data-field="sessions"]'));
    await page.waitForFunction(() => document.querySelector('#sessions-total')?.textContent === '1 streaming session open');
    await showsAtLeast(cell('acc', '[data-protocol="websocket"]'), 1);

    const grpcBefore = Number((await page.textContent(cell('add', '[data-protocol="grpc"]')))?.trim().split(' ')[0]);
    const client = inferenceClient(server.grpcAddress!);
    try {
      const answer = await client.ModelInfer({ model_name: 'add', inputs: ['A', 'B'].map((name) => ({ name, datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } })) });
      assert.deepEqual(answer.outputs.map((o: any) => o.name).sort(), ['DIFF', 'SUM']);
    } finally {
      client.close();
    }
    await showsAtLeast(cell('add', '[data-protocol="grpc"]'), grpcBefore + 1);
    assert.equal(await page.textContent(cell('add', '[data-protocol="websocket"]')), '0', 'the gRPC call is not counted as another protocol');

    ws.close();
    await closed;
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.trim() === '0', cell('acc', '[data-field="sessions"]'));
  });

  test('a job runs to done', async () => {
    const { status, json } = await post('/api/jobs', { pipeline: 'flaky', input: { n: 2 } });
    assert.equal(status, 202);
    await page.waitForSelector(jobRow(json.id, 'succeeded'));
    await page.waitForSelector(`${jobRow(json.id, 'succeeded')} .timeline .bar.step-succeeded`);
    const steps = await page.$$eval(`${jobRow(json.id, 'succeeded')} .timeline .bar`, (bars) => bars.map((b) => b.textContent));
    assert.deepEqual(steps, ['prepare', 'work']);
  });

  test('a failed job shows its HTML error as text, and a click on Retry makes it succeed', async () => {
    const flag = path.join(work, 'fail-flag');
    writeFileSync(flag, '');
    const { json } = await post('/api/jobs', { pipeline: 'flaky', input: { failWhile: flag } });
    const failure = `#failures li[data-job="${json.id}"]`;
    await page.waitForSelector(failure);
    assert.ok((await page.textContent(failure))?.includes(HOSTILE), 'the error is shown verbatim');
    assert.equal(await page.$('#injected'), null, 'no element was created from the error text');

    unlinkSync(flag);
    await page.click(`${failure} button.retry`);
    await page.waitForSelector(jobRow(json.id, 'succeeded'));
    const job = await (await fetch(`${server.url}/api/jobs/${json.id}`)).json() as any;
    assert.equal(job.state, 'succeeded');
    await page.waitForSelector(failure, { state: 'detached' });
  });

  test('a click on Cancel stops a running job, and its step shows cancelled', async () => {
    const { json } = await post('/api/jobs', { pipeline: 'slow', input: {} });
    await page.click(`${jobRow(json.id, 'running')} button.cancel`);
    await page.waitForSelector(jobRow(json.id, 'cancelled'));
    await page.waitForSelector(`${jobRow(json.id, 'cancelled')} .timeline .bar.step-cancelled`);
    await page.click(`${jobRow(json.id, 'cancelled')} button.open-job`);
    await page.waitForSelector(`#job-view[data-job="${json.id}"] #job-steps tr[data-step="wait"][data-state="cancelled"]`);
  });

  test('a click on a job\'s id opens its view with its steps and its stored log, as text', async () => {
    const { json } = await post('/api/jobs', { pipeline: 'flaky', input: { n: 3 } });
    await page.waitForSelector(jobRow(json.id, 'succeeded'));
    await page.click(`${jobRow(json.id, 'succeeded')} button.open-job`);
    const view = `#job-view[data-job="${json.id}"][data-state="succeeded"]`;
    await page.waitForSelector(`${view} #job-logs li`);
    const lines = await page.$$eval(`${view} #job-logs li`, (items) => items.map((li) => li.textContent ?? ''));
    assert.equal(lines.length, 2);
    assert.match(lines[0], /preparing \{"n":3\}$/);
    assert.ok(lines[1].endsWith(HOSTILE), 'a line with markup shows as that markup');
    assert.equal(await page.$('#injected'), null);
    const steps = await page.$$eval(`${view} #job-steps tr[data-step]`, (rows) => rows.map((r) => [r.getAttribute('data-step'), r.getAttribute('data-state')]));
    assert.deepEqual(steps, [['prepare', 'succeeded'], ['work', 'succeeded']]);
    await page.click(`${view} button.close`);
    await page.waitForSelector('#job-view', { state: 'detached' });
  });

  test('a screenshot is saved, and the page raised no errors or CSP violations', async () => {
    const dir = path.join(REPO_ROOT, 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, 'dashboard.png'), fullPage: true });
    assert.deepEqual(await page.evaluate(() => (window as any).cspViolations), []);
    assert.deepEqual(pageErrors, []);
  });
});
