/**
 * `forja worker`: runs pipeline workers (and the scheduler) without an HTTP server, for scaling out
 * on Redis. SIGTERM/SIGINT stop taking jobs, let running steps finish up to --drain-ms, then exit 0.
 */
import { Command, InvalidArgumentError } from 'commander';
import { Registry } from 'prom-client';
import { createLogger } from '../telemetry/logger.js';
import { PipelineService } from '../pipelines/service.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function registerWorkerCommand(program: Command): void {
  program.command('worker')
    .description('run pipeline workers only (use --redis to share jobs between machines)')
    .option('--pipelines <dir>', 'pipelines directory', './pipelines')
    .option('--data <dir>', 'data directory (SQLite backend)', './.forja')
    .option('--redis <url>', 'Redis URL: use the Redis backend', process.env.FORJA_REDIS_URL)
    .option('--concurrency <n>', 'jobs run at once by this worker', positiveInt, 50)
    .option('--drain-ms <ms>', 'on shutdown, how long running steps may finish', positiveInt, 30_000)
    .option('--no-scheduler', 'do not fire cron schedules from this process')
    .action(async (o: { pipelines: string; data: string; redis?: string; concurrency: number; drainMs: number; scheduler: boolean }) => {
      const logger = createLogger('info');
      const service = new PipelineService({
        dataDir: o.data, pipelinesDir: o.pipelines, backend: o.redis ? 'redis' : 'sqlite', redisUrl: o.redis,
        registry: new Registry(), logger, runScheduler: o.scheduler, worker: { concurrency: o.concurrency },
      });
      await service.start();
      for (const f of service.loadFailures) console.error(`pipeline ${f.name} (${f.file}) failed to load: ${f.error}`);
      console.log(`forja worker running ${service.pipelines().map((p) => p.name).join(', ') || 'no pipelines'} on ${o.redis ? 'redis' : 'sqlite'}`);
      const shutdown = () => {
        void service.stop({ timeoutMs: o.drainMs }).then(() => process.exit(0), (err: Error) => { console.error(err.message); process.exit(1); });
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });
}
