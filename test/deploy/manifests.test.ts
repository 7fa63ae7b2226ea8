/**
 * deploy/docker-compose.yml, deploy/k8s and deploy/Dockerfile are not run by the tests; this checks
 * that they agree with each other and with the repository: every file compose mounts exists, the
 * port is the same everywhere, and the k8s probes hit the v2 health routes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { DEPLOY_DIR } from './tools.js';

test('docker compose runs forja, prometheus, grafana and alertmanager with files that exist', () => {
  const compose = parse(readFileSync(path.join(DEPLOY_DIR, 'docker-compose.yml'), 'utf8'));
  for (const service of ['forja', 'prometheus', 'grafana', 'alertmanager']) assert.ok(compose.services[service], `service ${service}`);
  assert.ok(existsSync(path.join(DEPLOY_DIR, compose.services.forja.build.context, compose.services.forja.build.dockerfile)));
  for (const [name, service] of Object.entries<any>(compose.services)) {
    for (const volume of service.volumes ?? []) {
      const source = String(volume).split(':')[0];
      if (source.startsWith('.')) assert.ok(existsSync(path.resolve(DEPLOY_DIR, source)), `${name} mounts ${source}, which exists`);
    }
    for (const secret of service.secrets ?? []) assert.ok(compose.secrets?.[secret], `${name} uses the declared secret ${secret}`);
  }
  // Forja binds 0.0.0.0 in the container, which needs API keys; Prometheus gets the admin key file
  // that prometheus.yml reads.
  assert.equal(compose.services.forja.environment.FORJA_SECURITY__API_KEYS_FILE, '/run/secrets/forja-api-keys');
  assert.ok(compose.services.forja.secrets.includes('forja-api-keys'));
  assert.ok(compose.services.prometheus.secrets.includes('forja-metrics-key'));
  const prometheus = parse(readFileSync(path.join(DEPLOY_DIR, 'prometheus/prometheus.yml'), 'utf8'));
  const targets = prometheus.scrape_configs.find((s: any) => s.job_name === 'forja').static_configs.flatMap((c: any) => c.targets);
  assert.ok(targets.includes('forja:8080'), 'Prometheus scrapes the compose service');
  assert.ok(compose.services.forja.command.includes('8080'));
});

test('the Dockerfile exposes and serves the port the manifests use', () => {
  const dockerfile = readFileSync(path.join(DEPLOY_DIR, 'Dockerfile'), 'utf8');
  assert.match(dockerfile, /^EXPOSE 8080$/m);
  assert.match(dockerfile, /^CMD \["serve", "--host", "0\.0\.0\.0", "--port", "8080"/m);
});

test('the k8s Deployment probes /v2/health/live and /v2/health/ready and the Service selects it', () => {
  const docs = parseAllDocuments(readFileSync(path.join(DEPLOY_DIR, 'k8s/forja.yaml'), 'utf8')).map((d) => d.toJS());
  const deployment = docs.find((d) => d.kind === 'Deployment');
  const service = docs.find((d) => d.kind === 'Service');
  assert.ok(deployment && service);
  const container = deployment.spec.template.spec.containers[0];
  assert.equal(container.livenessProbe.httpGet.path, '/v2/health/live');
  assert.equal(container.readinessProbe.httpGet.path, '/v2/health/ready');
  assert.equal(container.ports[0].containerPort, 8080);
  assert.ok(container.env.some((e: any) => e.name === 'FORJA_API_KEYS' && e.valueFrom?.secretKeyRef), 'API keys come from a Secret (needed on 0.0.0.0)');
  assert.deepEqual(service.spec.selector, deployment.spec.template.metadata.labels);
  assert.deepEqual(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels);
});
