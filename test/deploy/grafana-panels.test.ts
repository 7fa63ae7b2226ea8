/**
 * deploy/grafana: the provisioning and dashboards are consistent, and every panel's PromQL runs
 * on a real Prometheus scraping a real Forja under load. Prometheus (the Debian binary) listens on
 * 127.0.0.1 with a temporary storage directory, scrapes every second and loads the deploy rules;
 * Forja serves the example models and a small pipeline. Core panels must return data.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parse } from 'yaml';
import { REPO_ROOT, startServer, type ServerProcess } from '../helpers/server-process.js';
import { DEPLOY_DIR, hasBinary } from './tools.js';

const GRAFANA_DIR = path.join(DEPLOY_DIR, 'grafana');
const DASHBOARD_DIR = path.join(GRAFANA_DIR, 'dashboards');
const RULES_DIR = path.join(DEPLOY_DIR, 'prometheus', 'rules');

interface Target { refId: string; expr: string; datasource?: { uid: string } }
interface Panel { id: number; type: string; title: string; datasource?: { uid: string }; targets?: Target[] }
interface Variable { name: string; query: { query: string } | string; datasource?: { uid: string } }
interface Dashboard { uid: string; title: string; panels: Panel[]; templating: { list: Variable[] } }

const dashboards: Dashboard[] = readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json')).sort()
  .map((f) => JSON.parse(readFileSync(path.join(DASHBOARD_DIR, f), 'utf8')));
const queryPanels = (d: Dashboard) => d.panels.filter((p) => p.type !== 'row');

/** Panels that must show data while Forja serves requests and runs jobs, by dashboard uid. */
const CORE_PANELS: Record<string, string[]> = {
  'forja-serving': ['Request rate', 'Latency p95', 'Loaded models', 'Model memory used', 'Requests by model and status', 'Latency p50 / p95 / p99 by model', 'Model memory by model'],
  'forja-system': ['Instances up', 'Resident memory', 'Up', 'Memory'],
  'forja-pipelines': ['Jobs queued', 'Jobs running', 'Jobs by state'],
};

/** Grafana's built-in and dashboard variables, as Grafana would expand them for "All". */
function expand(expr: string, variables: Set<string>): string {
  const out = expr
    .replaceAll('$__rate_interval', '10s').replaceAll('$__interval', '5s').replaceAll('$__range', '1m')
    .replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      return variables.has(name) ? '.*' : whole;
    });
  assert.doesNotMatch(out, /\$/, `every variable in ${expr} is defined`);
  return out;
}

/** `label_values(selector, label)` becomes a PromQL query that lists the label's values. */
function variableQuery(query: string): string {
  const match = /^label_values\((.+),\s*(\w+)\)$/.exec(query.trim());
  assert.ok(match, `variable query is label_values(selector, label): ${query}`);
  return `count by (${match[2]}) (${match[1]})`;
}

test('dashboards and provisioning are consistent', () => {
  assert.deepEqual(dashboards.map((d) => d.uid).sort(), ['forja-llm', 'forja-pipelines', 'forja-serving', 'forja-system']);
  const datasources = parse(readFileSync(path.join(GRAFANA_DIR, 'provisioning/datasources/prometheus.yml'), 'utf8')).datasources as { uid: string; type: string }[];
  const providers = parse(readFileSync(path.join(GRAFANA_DIR, 'provisioning/dashboards/forja.yml'), 'utf8')).providers as { type: string; options: { path: string } }[];
  assert.equal(providers.length, 1);
  assert.equal(providers[0].type, 'file');
  const uid = datasources.find((d) => d.type === 'prometheus')?.uid;
  assert.ok(uid, 'a provisioned Prometheus datasource with a uid');
  for (const d of dashboards) {
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `${d.uid}: panel ids are unique`);
    for (const v of d.templating.list) assert.equal(v.datasource?.uid, uid, `${d.uid}: variable ${v.name} uses the provisioned datasource`);
    for (const p of queryPanels(d)) {
      assert.equal(p.datasource?.uid, uid, `${d.uid}/${p.title}: panel uses the provisioned datasource`);
      assert.ok(p.targets && p.targets.length > 0 && p.targets.every((t) => t.expr.trim().length > 0), `${d.uid}/${p.title}: has PromQL targets`);
    }
    for (const title of CORE_PANELS[d.uid] ?? []) assert.ok(d.panels.some((p) => p.title === title), `${d.uid}: core panel "${title}" exists`);
  }
});

const prometheusMissing = !hasBinary('prometheus');
if (prometheusMissing && process.env.CI === 'true') {
  test('prometheus is installed (required under CI)', () => assert.fail('prometheus must be installed under CI (Debian package prometheus)'));
}

describe('every panel query runs on a real Prometheus scraping Forja', { skip: prometheusMissing ? 'prometheus is not installed; apt-get install prometheus to run this test' : false, timeout: 120_000 }, () => {
  let dir = '';
  let forja: ServerProcess | undefined;
  let prometheus: ChildProcess | undefined;
  let prometheusOutput = '';
  let promUrl = '';
  let loading = true;
  let load: Promise<void> = Promise.resolve();

  async function query(expr: string): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
    const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    return res.json() as Promise<{ status: string; error?: string; data?: { result: unknown[] } }>;
  }

  /** Polls an instant query until it returns at least one series. */
  async function waitForSeries(expr: string): Promise<void> {
    for (;;) {
      if (prometheus?.exitCode !== null) throw new Error(`prometheus exited:\n${prometheusOutput}`);
      const body = await query(expr).catch(() => undefined);
      if (body?.status === 'success' && (body.data?.result.length ?? 0) > 0) return;
      await delay(100);
    }
  }

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'forja-grafana-'));
    mkdirSync(path.join(dir, 'pipelines'));
    writeFileSync(path.join(dir, 'pipelines', 'echo.mjs'),
      "export default { name: 'echo', async run(input, ctx) { return ctx.step('echo', () => input); } };\n");
    forja = await startServer(['--models', path.join(REPO_ROOT, 'examples/models'), '--pipelines', path.join(dir, 'pipelines'), '--data', path.join(dir, 'data')]);
    const forjaHost = new URL(forja.url).host;

    const port = await new Promise<number>((resolve, reject) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(free));
      }).once('error', reject);
    });
    promUrl = `http://127.0.0.1:${port}`;
    const ruleFiles = readdirSync(RULES_DIR).filter((f) => f.endsWith('.yml')).map((f) => JSON.stringify(path.join(RULES_DIR, f)));
    writeFileSync(path.join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: [${ruleFiles.join(', ')}]`,
      'scrape_configs:',
      `  - { job_name: forja, metrics_path: /metrics, static_configs: [{ targets: ['${forjaHost}'] }] }`,
      '',
    ].join('\n'));
    prometheus = spawn('prometheus', [
      `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout!.on('data', (c: Buffer) => { prometheusOutput += c.toString(); });
    prometheus.stderr!.on('data', (c: Buffer) => { prometheusOutput += c.toString(); });

    // Load: inference on the example model (and some 404s), and a few jobs.
    const body = readFileSync(path.join(REPO_ROOT, 'examples/requests/add.json'));
    const url = forja.url;
    const client = async (n: number) => {
      for (let i = 0; loading; i++) {
        const model = (i + n) % 10 === 0 ? 'no-such-model' : 'add';
        const res = await fetch(`${url}/v2/models/${model}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await res.arrayBuffer();
      }
    };
    load = Promise.all([0, 1, 2, 3].map(client)).then(() => undefined);
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pipeline: 'echo', input: { i } }) });
      assert.equal(res.status, 202, await res.text());
    }

    // Wait for scrapes: Forja is up and the request counter has at least two samples in the
    // rate window the panels use, so rate() over it has data.
    await waitForSeries('up{job="forja"} == 1');
    await waitForSeries('forja_inference_requests_total{job="forja", model="add"}');
    await waitForSeries('count_over_time(forja_inference_requests_total{job="forja", model="add", status="200"}[10s]) >= 3');
    await waitForSeries('forja:inference_latency_p95_threshold_seconds');
  });

  after(async () => {
    loading = false;
    await load.catch(() => undefined);
    await forja?.stop();
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      process.kill(prometheus.pid!, 'SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const d of dashboards) {
    test(`${d.title}: every panel query and variable query succeeds; core panels have data`, async () => {
      const variables = new Set(d.templating.list.map((v) => v.name));
      for (const v of d.templating.list) {
        const q = typeof v.query === 'string' ? v.query : v.query.query;
        const body = await query(expand(variableQuery(q), variables));
        assert.equal(body.status, 'success', `${d.uid} variable ${v.name}: ${body.error}`);
      }
      const core = new Set(CORE_PANELS[d.uid] ?? []);
      for (const p of queryPanels(d)) {
        let series = 0;
        for (const t of p.targets ?? []) {
          const expr = expand(t.expr, variables);
          const body = await query(expr);
          assert.equal(body.status, 'success', `${d.uid} / ${p.title} / ${t.refId}: ${body.error}\n${expr}`);
          series += body.data?.result.length ?? 0;
        }
        if (core.has(p.title)) assert.ok(series > 0, `${d.uid} / ${p.title}: core panel returns data`);
      }
    });
  }
});
