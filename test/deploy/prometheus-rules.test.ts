/**
 * deploy/prometheus: the scrape config and rule files pass `promtool check`, the alert unit tests
 * pass `promtool test rules`, and every alert has a unit test that fires it and one where it stays
 * quiet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { DEPLOY_DIR, requireBinary, run } from './tools.js';

const PROM_DIR = path.join(DEPLOY_DIR, 'prometheus');
const RULES_DIR = path.join(PROM_DIR, 'rules');
const TESTS_DIR = path.join(PROM_DIR, 'tests');

const ruleFiles = readdirSync(RULES_DIR).filter((f) => f.endsWith('.yml')).sort();
const testFiles = readdirSync(TESTS_DIR).filter((f) => f.endsWith('.yml')).sort();

interface Rule { alert?: string; record?: string; expr: string; labels?: Record<string, string> }
const rules: Rule[] = ruleFiles.flatMap((f) => (parse(readFileSync(path.join(RULES_DIR, f), 'utf8')).groups as { rules: Rule[] }[]).flatMap((g) => g.rules));
const alertNames = rules.filter((r) => r.alert).map((r) => r.alert as string);

test('there are rule files, alert rules and rule unit tests', () => {
  assert.ok(ruleFiles.length > 0 && testFiles.length > 0);
  for (const required of ['ForjaInstanceDown', 'ForjaHighErrorRate', 'ForjaInferenceLatencyHigh', 'ForjaModelMemoryNearBudget', 'ForjaGpuMemoryHigh',
    'ForjaPipelineFailureRate', 'ForjaPipelineBacklogGrowing', 'ForjaPipelineJobsStuck']) {
    assert.ok(alertNames.includes(required), `alert ${required} is defined`);
  }
  assert.equal(new Set(alertNames).size, alertNames.length, 'alert names are unique');
  for (const rule of rules.filter((r) => r.alert)) assert.ok(rule.labels?.severity, `${rule.alert} has a severity label`);
});

test('promtool check rules passes on every rule file', (t) => {
  if (!requireBinary(t, 'promtool', 'prometheus')) return;
  for (const file of ruleFiles) {
    const { status, output } = run('promtool', ['check', 'rules', path.join('rules', file)], PROM_DIR);
    assert.equal(status, 0, `promtool check rules ${file}:\n${output}`);
  }
});

test('promtool check config passes on prometheus.yml, which loads every rule file', (t) => {
  if (!requireBinary(t, 'promtool', 'prometheus')) return;
  const syntax = run('promtool', ['check', 'config', '--syntax-only', 'prometheus.yml'], PROM_DIR);
  assert.equal(syntax.status, 0, `promtool check config --syntax-only:\n${syntax.output}`);
  // The full check also opens the files the config names: the scrape key (a secret mounted at run
  // time) is swapped for a temporary file, and the rule files are the ones in deploy/.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-promcfg-'));
  try {
    const keyFile = path.join(dir, 'forja-metrics-key');
    writeFileSync(keyFile, 'not-a-real-key-0123456789\n');
    const text = readFileSync(path.join(PROM_DIR, 'prometheus.yml'), 'utf8');
    assert.ok(text.includes('/run/secrets/forja-metrics-key'), 'the scrape job reads its key from the mounted secret');
    writeFileSync(path.join(dir, 'prometheus.yml'), text.replaceAll('/run/secrets/forja-metrics-key', keyFile).replaceAll('- rules/', `- ${RULES_DIR}/`));
    const { status, output } = run('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')], dir);
    assert.equal(status, 0, `promtool check config:\n${output}`);
    assert.match(output, new RegExp(`SUCCESS: ${ruleFiles.length} rule files found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const config = parse(readFileSync(path.join(PROM_DIR, 'prometheus.yml'), 'utf8'));
  assert.deepEqual([...config.rule_files].map((f: string) => path.basename(f)).sort(), ruleFiles);
  assert.ok(config.scrape_configs.some((s: any) => s.job_name === 'forja'), 'a scrape job named forja (the rules select job="forja")');
});

test('promtool test rules passes on every unit-test file', (t) => {
  if (!requireBinary(t, 'promtool', 'prometheus')) return;
  for (const file of testFiles) {
    const { status, output } = run('promtool', ['test', 'rules', path.join('tests', file)], PROM_DIR);
    assert.equal(status, 0, `promtool test rules ${file}:\n${output}`);
    assert.match(output, /SUCCESS/);
  }
});

test('every alert has a unit test where it fires and one where it stays quiet', () => {
  const firing = new Set<string>();
  const quiet = new Set<string>();
  const loadedRules = new Set<string>();
  for (const file of testFiles) {
    const doc = parse(readFileSync(path.join(TESTS_DIR, file), 'utf8'));
    for (const f of doc.rule_files as string[]) loadedRules.add(path.basename(f));
    for (const group of doc.tests as { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[]) {
      for (const c of group.alert_rule_test ?? []) {
        assert.ok(alertNames.includes(c.alertname), `${file} tests an alert that exists: ${c.alertname}`);
        ((c.exp_alerts?.length ?? 0) > 0 ? firing : quiet).add(c.alertname);
      }
    }
  }
  assert.deepEqual([...loadedRules].sort(), ruleFiles, 'the unit tests load every rule file');
  for (const name of alertNames) {
    assert.ok(firing.has(name), `a unit test expects ${name} to fire`);
    assert.ok(quiet.has(name), `a unit test expects ${name} to stay quiet`);
  }
});
