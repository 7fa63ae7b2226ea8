/**
 * A webhook delivery turned into a job: verified with the pipeline's secret (GitHub's
 * X-Hub-Signature-256), de-duplicated by X-GitHub-Delivery or Idempotency-Key (namespace
 * `delivery:`, apart from the jobs API's keys), its JSON body the job's input. Each outcome is counted
 * in forja_webhook_deliveries_total.
 */
import { errors } from '../errors.js';
import type { PipelineMetrics } from './pipeline-metrics.js';
import type { PipelineRegistry } from './pipeline-registry.js';
import type { JobRecord } from './queues/backend.js';
import { checkIdempotencyKey } from './submit-limits.js';
import { verifyWebhookSignature } from './webhook-signature.js';

export type WebhookHeaders = Record<string, string | string[] | undefined>;

export interface WebhookDeps {
  registry: PipelineRegistry;
  metrics: PipelineMetrics;
  /** Validates and enqueues the job; `storedKey` already carries its namespace. */
  enqueue(request: { pipeline: string; input: unknown }, storedKey: string | undefined): Promise<{ job: JobRecord; created: boolean }>;
  env?: NodeJS.ProcessEnv;
}

type Outcome = 'accepted' | 'duplicate' | 'unauthorized' | 'rejected' | 'not_found';

export async function receiveWebhook(deps: WebhookDeps, name: string, rawBody: Buffer, headers: WebhookHeaders): Promise<{ job: JobRecord; created: boolean }> {
  const header = (h: string) => { const v = headers[h]; return Array.isArray(v) ? v[0] : v; };
  const pipeline = deps.registry.get(name);
  const count = (result: Outcome) => deps.metrics.webhooks.inc({ pipeline: pipeline ? name : '(unknown)', result });
  if (!pipeline) { count('not_found'); throw errors.PIPELINE_NOT_FOUND(`pipeline "${name}" not found`); }
  const hook = pipeline.definition.webhook;
  const secret = hook?.secretEnv ? (deps.env ?? process.env)[hook.secretEnv] : undefined;
  if (secret) {
    if (!verifyWebhookSignature(secret, rawBody, header('x-hub-signature-256'))) {
      count('unauthorized');
      throw errors.WEBHOOK_SIGNATURE(header('x-hub-signature-256') ? 'webhook signature does not match' : 'webhook signature missing (X-Hub-Signature-256)');
    }
  } else if (!hook?.allowUnsigned) {
    count('unauthorized');
    throw errors.WEBHOOK_SIGNATURE(hook?.secretEnv
      ? `pipeline "${name}" has no webhook secret: environment variable ${hook.secretEnv} is not set`
      : `pipeline "${name}" accepts no webhooks (no webhook.secretEnv, and unsigned delivery is not allowed)`);
  }
  let input: unknown = {};
  if (rawBody.length > 0) {
    try {
      input = JSON.parse(rawBody.toString('utf8'));
    } catch {
      count('rejected');
      throw errors.REQUEST_MALFORMED_JSON('webhook body is not valid JSON');
    }
  }
  const deliveryHeader = header('x-github-delivery') !== undefined ? 'X-GitHub-Delivery' : 'Idempotency-Key';
  const key = header('x-github-delivery') ?? header('idempotency-key');
  try {
    const storedKey = key ? `delivery:${checkIdempotencyKey(key, `the ${deliveryHeader} header`)}` : undefined;
    const out = await deps.enqueue({ pipeline: name, input }, storedKey);
    count(out.created ? 'accepted' : 'duplicate');
    return out;
  } catch (err) {
    count('rejected');
    throw err;
  }
}
