/**
 * Pipeline metrics, registered on the Registry the service is given. Jobs by state is read from
 * storage at scrape time (a collect callback), so it is right across processes and backends.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { JobCounts } from './queues/backend.js';

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600];
const WAIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300];

export type RunOutcome = 'succeeded' | 'failed' | 'cancelled' | 'interrupted' | 'lost';
export type WebhookResult = 'accepted' | 'duplicate' | 'unauthorized' | 'rejected' | 'not_found';

export class PipelineMetrics {
  readonly runs: Counter<'pipeline' | 'outcome'>;
  readonly runDuration: Histogram<'pipeline'>;
  readonly queueWait: Histogram<'pipeline'>;
  readonly stepRetries: Counter<'pipeline' | 'step'>;
  readonly jobs: Gauge<'state'>;
  readonly webhooks: Counter<'pipeline' | 'result'>;
  readonly backendUp: Gauge;

  constructor(registry: Registry, countJobs: () => Promise<JobCounts>) {
    const registers = [registry];
    this.runs = new Counter({ name: 'forja_pipeline_runs_total', help: 'Pipeline runs (deliveries) by outcome.', labelNames: ['pipeline', 'outcome'], registers });
    this.runDuration = new Histogram({ name: 'forja_pipeline_run_duration_seconds', help: 'Time of one run of a pipeline, claim to outcome.', labelNames: ['pipeline'], buckets: DURATION_BUCKETS, registers });
    this.queueWait = new Histogram({ name: 'forja_pipeline_queue_wait_seconds', help: 'Time a job waited from due to started.', labelNames: ['pipeline'], buckets: WAIT_BUCKETS, registers });
    this.stepRetries = new Counter({ name: 'forja_pipeline_step_retries_total', help: 'Step attempts that failed and were retried.', labelNames: ['pipeline', 'step'], registers });
    this.webhooks = new Counter({ name: 'forja_webhook_deliveries_total', help: 'Webhook deliveries by result.', labelNames: ['pipeline', 'result'], registers });
    // Both gauges are read from one count per scrape, and an outage must not fail the whole scrape:
    // it shows as forja_pipeline_backend_up 0 (the job counts keep their last known values).
    let pending: Promise<void> | undefined;
    const refresh = () => pending ??= (async () => {
      try {
        const counts = await countJobs();
        for (const [state, n] of Object.entries(counts)) this.jobs.set({ state }, n);
        this.backendUp.set(1);
      } catch {
        this.backendUp.set(0);
      } finally {
        pending = undefined;
      }
    })();
    this.jobs = new Gauge({ name: 'forja_pipeline_jobs', help: 'Jobs in storage by state; queued counts due jobs, delayed the ones waiting out their delay.', labelNames: ['state'], registers, collect: refresh });
    this.backendUp = new Gauge({ name: 'forja_pipeline_backend_up', help: 'Whether the job queue storage answered at the last scrape (1) or not (0).', registers, collect: refresh });
  }
}
