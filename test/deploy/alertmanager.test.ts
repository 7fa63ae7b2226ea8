/**
 * deploy/alertmanager: the example config passes `amtool check-config`, and amtool's own route
 * resolver sends every alert of deploy/prometheus to the receiver its severity calls for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { DEPLOY_DIR, requireBinary, run } from './tools.js';

const AM_DIR = path.join(DEPLOY_DIR, 'alertmanager');
const RULES_DIR = path.join(DEPLOY_DIR, 'prometheus', 'rules');
const RECEIVER_BY_SEVERITY: Record<string, string> = { critical: 'forja-pager', warning: 'forja-chat' };

test('amtool check-config passes on the example config', (t) => {
  if (!requireBinary(t, 'amtool', 'prometheus-alertmanager')) return;
  const { status, output } = run('amtool', ['check-config', 'alertmanager.yml'], AM_DIR);
  assert.equal(status, 0, `amtool check-config:\n${output}`);
  assert.match(output, /SUCCESS/);
});

test('every alert rule routes to the receiver for its severity', (t) => {
  if (!requireBinary(t, 'amtool', 'prometheus-alertmanager')) return;
  const alerts = readdirSync(RULES_DIR).filter((f) => f.endsWith('.yml'))
    .flatMap((f) => (parse(readFileSync(path.join(RULES_DIR, f), 'utf8')).groups as { rules: { alert?: string; labels?: Record<string, string> }[] }[]).flatMap((g) => g.rules))
    .filter((r) => r.alert);
  assert.ok(alerts.length > 0);
  for (const rule of alerts) {
    const severity = rule.labels?.severity ?? '';
    const expected = RECEIVER_BY_SEVERITY[severity];
    assert.ok(expected, `${rule.alert} has a severity the config routes (got "${severity}")`);
    const labels = [`alertname=${rule.alert}`, `job=forja`, `severity=${severity}`];
    const { status, output } = run('amtool', ['config', 'routes', 'test', '--config.file=alertmanager.yml', `--verify.receivers=${expected}`, ...labels], AM_DIR);
    assert.equal(status, 0, `${rule.alert} should reach ${expected}:\n${output}`);
  }
});
