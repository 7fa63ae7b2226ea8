/** The jobs API and webhooks over a real socket, on a real SQLite-backed PipelineService. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ForjaError } from '../../../src/errors.js';
import { definePipeline, NonRetryableError } from '../../../src/pipelines/define.js';
import type { PipelineService } from '../../../src/pipelines/service.js';
import { signWebhookBody } from '../../../src/pipelines/webhook-signature.js';
import { jobsRoutes } from '../../../src/protocols/jobs/index.js';
import { startService, waitForJob } from '../../pipelines/service-harness.js';

const SECRET_ENV = 'FORJA_TEST_HOOK_SECRET';
const SECRET = "It's a Secret to Everybody";

describe('jobs HTTP API', () => {
  let service: PipelineService;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    process.env[SECRET_ENV] = SECRET;
    service = await startService([
      definePipeline({
        name: 'ingest',
        input: z.object({ url: z.string().url(), depth: z.number().int().optional() }),
        webhook: { secretEnv: SECRET_ENV },
        maxInputBytes: 2048,
        async run(input, ctx) {
          const page = await ctx.step('fetch', ({ progress, log }) => { progress(0.5, 'fetched'); log('got page', { url: input.url }); return `<html>${input.url}</html>`; });
          return ctx.step('store', () => ({ length: page.length }));
        },
      }),
      definePipeline({ name: 'open-hook', webhook: { allowUnsigned: true }, run: (input) => input }),
      definePipeline({ name: 'no-hook', run: () => null }),
      definePipeline({ name: 'broken', async run(_i, ctx) { await ctx.step('explode', () => { throw new NonRetryableError('kaboom'); }); } }),
      definePipeline({ name: 'parked', run: () => null }),
      // Only the listing test submits these, so its listing sees its own jobs whatever ran before.
      definePipeline({ name: 'listed', run: () => null }),
    ], { worker: { concurrency: 4 } });
    app = Fastify();
    app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      reply.code(err instanceof ForjaError ? err.statusCode : err.statusCode ?? 500).send({ ...(err instanceof ForjaError ? err.details : {}), error: err.message });
    });
    await app.register(jobsRoutes, { service, events: { pollMs: 50 } });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await app.close();
    await service.stop({ timeoutMs: 100 });
  });

  const post = (path: string, body?: unknown, headers: Record<string, string> = {}) => fetch(`${base}${path}`, {
    method: 'POST', headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body),
  });

  it('accepts a job with 202 and a status URL that shows steps, timing and result', async () => {
    const res = await post('/api/jobs', { pipeline: 'ingest', input: { url: 'https://example.com/a' } });
    assert.equal(res.status, 202);
    const body = await res.json() as { id: string; status_url: string };
    assert.equal(body.status_url, `/api/jobs/${body.id}`);
    await waitForJob(service, body.id);
    const job = await (await fetch(`${base}${body.status_url}`)).json() as Record<string, any>;  
    assert.equal(job.state, 'succeeded');
    assert.equal(job.attempts, 1);
    assert.deepEqual(job.result, { length: '<html>https://example.com/a</html>'.length });
    assert.deepEqual(job.steps.map((s: { name: string; state: string }) => [s.name, s.state]), [['fetch', 'succeeded'], ['store', 'succeeded']]);
    assert.equal(typeof job.durationMs, 'number');
    assert.equal(typeof job.steps[0].durationMs, 'number');
    assert.equal(job.progress, 0.5);
  });

  it('returns the same job for a repeated idempotency key', async () => {
    const a = await (await post('/api/jobs', { pipeline: 'ingest', input: { url: 'https://example.com/i' }, idempotencyKey: 'same' })).json() as { id: string };
    const res = await post('/api/jobs', { pipeline: 'ingest', input: { url: 'https://example.com/i' } }, { 'idempotency-key': 'same' });
    assert.equal(res.status, 202);
    const b = await res.json() as { id: string; duplicate: boolean };
    assert.equal(b.id, a.id);
    assert.equal(b.duplicate, true);
  });

  it('answers 409 with the existing job\'s id when an idempotency key is reused with a different input', async () => {
    const first = await (await post('/api/jobs', { pipeline: 'ingest', input: { url: 'https://example.com/k', depth: 1 }, idempotencyKey: 'reused' })).json() as { id: string };
    const sameInOtherOrder = await post('/api/jobs', { pipeline: 'ingest', input: { depth: 1, url: 'https://example.com/k' } }, { 'idempotency-key': 'reused' });
    assert.equal(sameInOtherOrder.status, 202);
    assert.equal((await sameInOtherOrder.json() as { id: string }).id, first.id);
    for (const res of [
      await post('/api/jobs', { pipeline: 'ingest', input: { url: 'https://example.com/other' }, idempotencyKey: 'reused' }),
      await post('/api/jobs', { pipeline: 'ingest', input: { url: 'https://example.com/k', depth: 2 } }, { 'idempotency-key': 'reused' }),
    ]) {
      assert.equal(res.status, 409);
      const body = await res.json() as { error: string; job_id: string };
      assert.equal(body.job_id, first.id);
      assert.match(body.error, /already used .* with a different input/);
    }
  });

  it('keeps API keys apart from webhook delivery ids: a client cannot pre-empt a delivery', async () => {
    const delivery = 'd-preempt';
    const squatter = await post('/api/jobs', { pipeline: 'ingest', input: { url: 'https://example.com/hook' }, idempotencyKey: `delivery:${delivery}` });
    assert.equal(squatter.status, 202);
    const { id: squatterId } = await squatter.json() as { id: string };
    const body = JSON.stringify({ url: 'https://example.com/hook' });
    const res = await fetch(`${base}/hooks/ingest`, {
      method: 'POST', body,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(SECRET, body), 'x-github-delivery': delivery },
    });
    assert.equal(res.status, 202);
    const genuine = await res.json() as { id: string; duplicate: boolean };
    assert.equal(genuine.duplicate, false, 'the signed delivery made its own job');
    assert.notEqual(genuine.id, squatterId);
  });

  it('bounds idempotency keys from the header and from webhook deliveries like the body field', async () => {
    const input = { url: 'https://example.com/len' };
    const longHeader = await post('/api/jobs', { pipeline: 'ingest', input }, { 'idempotency-key': 'h'.repeat(257) });
    assert.equal(longHeader.status, 400);
    assert.match((await longHeader.json() as { error: string }).error, /Idempotency-Key header must be 1 to 256 characters long \(it has 257\)/);
    assert.equal((await post('/api/jobs', { pipeline: 'ingest', input, idempotencyKey: 'b'.repeat(257) })).status, 400);
    assert.equal((await post('/api/jobs', { pipeline: 'ingest', input }, { 'idempotency-key': 'h'.repeat(256) })).status, 202);
    const differ = await post('/api/jobs', { pipeline: 'ingest', input, idempotencyKey: 'one' }, { 'idempotency-key': 'two' });
    assert.equal(differ.status, 400);
    assert.match((await differ.json() as { error: string }).error, /differ/);
    const body = JSON.stringify(input);
    const hook = await fetch(`${base}/hooks/ingest`, {
      method: 'POST', body,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(SECRET, body), 'x-github-delivery': 'g'.repeat(300) },
    });
    assert.equal(hook.status, 400);
    assert.match((await hook.json() as { error: string }).error, /X-GitHub-Delivery header must be 1 to 256 characters/);
  });

  it('bounds delayMs with a 400 that names the limit', async () => {
    for (const delayMs of [1e300, 365 * 86_400_000 + 1]) {
      const res = await post('/api/jobs', { pipeline: 'parked', delayMs });
      assert.equal(res.status, 400);
      assert.match((await res.json() as { error: string }).error, /delayMs.*31536000000/);
    }
    await assert.rejects(service.submit({ pipeline: 'parked', delayMs: 1e300 }), /delayMs must be a number from 0 to 31536000000/);
    const longest = await post('/api/jobs', { pipeline: 'parked', delayMs: 365 * 86_400_000 });
    assert.equal(longest.status, 202);
    assert.equal((await post(`/api/jobs/${(await longest.json() as { id: string }).id}/cancel`)).status, 200);
  });

  it('answers bad requests with the right status and an error message', async () => {
    const unknown = await post('/api/jobs', { pipeline: 'nope', input: {} });
    assert.equal(unknown.status, 404);
    assert.match((await unknown.json() as { error: string }).error, /pipeline "nope" not found/);
    const invalid = await post('/api/jobs', { pipeline: 'ingest', input: { url: 'not a url', depth: 'x' } });
    assert.equal(invalid.status, 400);
    const message = (await invalid.json() as { error: string }).error;
    assert.match(message, /url:/);
    assert.match(message, /depth:/);
    const tooBig = await post('/api/jobs', { pipeline: 'ingest', input: { url: `https://example.com/${'x'.repeat(4000)}` } });
    assert.equal(tooBig.status, 413);
    const hugeBody = await post('/api/jobs', { pipeline: 'ingest', input: { url: 'x'.repeat(2 * 1024 * 1024) } });
    assert.equal(hugeBody.status, 413);
    assert.equal((await post('/api/jobs', { input: {} })).status, 400);
    assert.equal((await fetch(`${base}/api/jobs/does-not-exist`)).status, 404);
    assert.equal((await post('/api/jobs/does-not-exist/cancel')).status, 404);
    assert.equal((await post('/api/jobs/does-not-exist/retry')).status, 404);
    assert.equal((await fetch(`${base}/api/jobs?state=bogus`)).status, 400);
  });

  it('refuses to cancel a finished job with 409, and shows a failed job\'s error with its stack', async () => {
    const { id } = await (await post('/api/jobs', { pipeline: 'broken' })).json() as { id: string };
    await waitForJob(service, id);
    const job = await (await fetch(`${base}/api/jobs/${id}`)).json() as { state: string; error: { message: string; stack: string; step: string } };
    assert.equal(job.state, 'failed');
    assert.equal(job.error.message, 'kaboom');
    assert.equal(job.error.step, 'explode');
    assert.match(job.error.stack, /NonRetryableError: kaboom\n\s+at /);
    const cancel = await post(`/api/jobs/${id}/cancel`);
    assert.equal(cancel.status, 409);
    const retry = await post(`/api/jobs/${id}/retry`);
    assert.equal(retry.status, 202);
    assert.equal((await waitForJob(service, id)).state, 'failed');
  });

  it('cancels a queued job', async () => {
    const { id } = await (await post('/api/jobs', { pipeline: 'parked', delayMs: 3_600_000 })).json() as { id: string };
    const res = await post(`/api/jobs/${id}/cancel`);
    assert.equal(res.status, 200);
    assert.equal((await res.json() as { state: string }).state, 'cancelled');
  });

  it('lists jobs by pipeline and state with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await (await post('/api/jobs', { pipeline: 'listed', delayMs: 3_600_000 })).json() as { id: string }).id);
    const first = await (await fetch(`${base}/api/jobs?pipeline=listed&state=queued&limit=2`)).json() as { jobs: { id: string }[]; next_cursor: string };
    assert.deepEqual(first.jobs.map((j) => j.id), [ids[2], ids[1]]);
    const second = await (await fetch(`${base}/api/jobs?pipeline=listed&state=queued&limit=2&cursor=${first.next_cursor}`)).json() as { jobs: { id: string }[]; next_cursor: string | null };
    assert.deepEqual(second.jobs.map((j) => j.id), [ids[0]]);
    assert.equal(second.next_cursor, null);
  });

  it('streams a job\'s events over SSE until it finishes', async () => {
    const { id } = await (await post('/api/jobs', { pipeline: 'ingest', input: { url: 'https://example.com/sse' }, delayMs: 300 })).json() as { id: string };
    const res = await fetch(`${base}/api/jobs/${id}/events`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const text = await res.text(); // the server ends the stream after `done`
    const events = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    assert.equal(events[0], 'snapshot');
    for (const e of ['step.start', 'step.succeeded', 'progress', 'log', 'state', 'done']) assert.ok(events.includes(e), `missing ${e} in ${events.join(',')}`);
    assert.match(text, /"message":"got page"/);
    assert.match(text, /event: log\ndata: \{"seq":\d+,"at":"\d{4}-/, 'log events carry the same line as GET /logs');
    assert.equal((await fetch(`${base}/api/jobs/nope/events`)).status, 404);
  });

  it('serves a job\'s stored log, paged with after and limit', async () => {
    const { id } = await (await post('/api/jobs', { pipeline: 'ingest', input: { url: 'https://example.com/logs' } })).json() as { id: string };
    await waitForJob(service, id);
    const res = await fetch(`${base}/api/jobs/${id}/logs`);
    assert.equal(res.status, 200);
    const page = await res.json() as { logs: { seq: number; at: string; message: string; data?: unknown }[]; next_after: number };
    assert.deepEqual(page.logs.map((l) => [l.message, l.data]), [['got page', { url: 'https://example.com/logs' }]]);
    assert.match(page.logs[0].at, /^\d{4}-\d\d-\d\dT/);
    assert.equal(page.next_after, page.logs[0].seq);
    const rest = await (await fetch(`${base}/api/jobs/${id}/logs?after=${page.next_after}&limit=10`)).json() as { logs: unknown[]; next_after: number };
    assert.deepEqual(rest, { logs: [], next_after: page.next_after });
    assert.equal((await fetch(`${base}/api/jobs/${id}/logs?limit=0`)).status, 400);
    assert.equal((await fetch(`${base}/api/jobs/${id}/logs?after=-1`)).status, 400);
    assert.equal((await fetch(`${base}/api/jobs/${id}/logs?limit=1001`)).status, 400);
    assert.equal((await fetch(`${base}/api/jobs/no-such-job/logs`)).status, 404);
  });

  describe('webhooks', () => {
    const body = JSON.stringify({ url: 'https://example.com/hook' });
    const hook = (pipeline: string, payload: string, headers: Record<string, string>) =>
      fetch(`${base}/hooks/${pipeline}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });

    it('accepts a delivery signed over the raw body and de-duplicates redeliveries', async () => {
      const headers = { 'x-hub-signature-256': signWebhookBody(SECRET, body), 'x-github-delivery': 'd-1' };
      const first = await hook('ingest', body, headers);
      assert.equal(first.status, 202);
      const a = await first.json() as { id: string; duplicate: boolean };
      assert.equal(a.duplicate, false);
      const again = await hook('ingest', body, headers);
      const b = await again.json() as { id: string; duplicate: boolean };
      assert.equal(b.id, a.id);
      assert.equal(b.duplicate, true);
      assert.equal((await waitForJob(service, a.id)).state, 'succeeded');
    });

    it('rejects a bad or missing signature with 401', async () => {
      assert.equal((await hook('ingest', body, { 'x-hub-signature-256': signWebhookBody('wrong', body) })).status, 401);
      assert.equal((await hook('ingest', body, { 'x-hub-signature-256': signWebhookBody(SECRET, `${body} `) })).status, 401);
      assert.equal((await hook('ingest', body, {})).status, 401);
      assert.equal((await hook('ingest', body, { 'x-hub-signature-256': 'sha256=zz' })).status, 401);
    });

    it('accepts no webhook for a pipeline without a secret unless it opts in to unsigned delivery', async () => {
      assert.equal((await hook('no-hook', '{}', {})).status, 401);
      const open = await hook('open-hook', '{"a":1}', { 'idempotency-key': 'k-1' });
      assert.equal(open.status, 202);
    });

    it('answers 404, 400, 413 for unknown pipelines, malformed bodies and oversized bodies', async () => {
      assert.equal((await hook('nope', '{}', {})).status, 404);
      assert.equal((await hook('open-hook', '{not json', {})).status, 400);
      const big = JSON.stringify({ url: `https://example.com/${'y'.repeat(3000)}` });
      assert.equal((await hook('ingest', big, { 'x-hub-signature-256': signWebhookBody(SECRET, big) })).status, 413);
      const huge = 'z'.repeat(2 * 1024 * 1024);
      assert.equal((await hook('open-hook', huge, {})).status, 413);
    });

    it('counts deliveries by result in the metrics', async () => {
      // Its own deliveries and jobs, measured as increases: the test needs nothing from the others.
      const value = async (name: string, labels: Record<string, string>) => {
        const metric = service.options.registry.getSingleMetric(name)!;
        const found = (await metric.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
        return found?.value ?? 0;
      };
      const measure = () => Promise.all([
        value('forja_webhook_deliveries_total', { pipeline: 'ingest', result: 'accepted' }),
        value('forja_webhook_deliveries_total', { pipeline: 'ingest', result: 'unauthorized' }),
        value('forja_pipeline_runs_total', { pipeline: 'ingest', outcome: 'succeeded' }),
      ]);
      const before = await measure();
      const payload = JSON.stringify({ url: 'https://example.com/metrics' });
      const accepted = await hook('ingest', payload, { 'x-hub-signature-256': signWebhookBody(SECRET, payload) });
      assert.equal(accepted.status, 202);
      assert.equal((await hook('ingest', payload, { 'x-hub-signature-256': signWebhookBody('wrong', payload) })).status, 401);
      await waitForJob(service, (await accepted.json() as { id: string }).id);
      assert.equal((await post('/api/jobs', { pipeline: 'parked', delayMs: 3_600_000 })).status, 202);
      const afterwards = await measure();
      assert.deepEqual(afterwards.map((v, i) => v - before[i]), [1, 1, 1], 'one accepted delivery, one refused, one run');
      const text = await service.options.registry.metrics();
      assert.match(text, /forja_pipeline_jobs\{state="queued"\} \d/);
      assert.match(text, /forja_pipeline_jobs\{state="delayed"\} [1-9]/, 'the parked job waits out its delay');
      assert.match(text, /forja_pipeline_run_duration_seconds_bucket/);
      assert.match(text, /forja_pipeline_queue_wait_seconds_bucket/);
    });
  });
});
