/**
 * `forja worker`: runs pipeline jobs (and the scheduler) without an HTTP server, to scale out. It
 * reads the same config as `forja serve` (forja.yaml or --config, FORJA_* variables, flags) and loads
 * the model repository, so ctx.infer / ctx.chat work on workers too. It exits 1 with the reason when
 * it could do nothing useful: a bad config, no pipeline loaded, no job store it can share.
 * SIGTERM/SIGINT stop taking jobs, let running steps finish up to --drain-ms, abort the rest and hand
 * their jobs back, then exit 0; a second SIGINT exits at once.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config/load.js';
import type { ForjaConfig } from '../config/schema.js';
import { createLogger } from '../telemetry/logger.js';
import { createRegistry } from '../telemetry/metrics.js';
import { PipelineService } from '../pipelines/service.js';
import { createModelRuntime, type ModelRuntime } from '../server/model-runtime.js';
import { pipelineModels } from '../server/pipeline-models.js';
import { pipelineServiceOptions } from '../server/pipeline-options.js';

interface WorkerFlags {
  config?: string;
  models?: string;
  pipelines?: string;
  data?: string;
  redis?: string;
  concurrency: number;
  drainMs: number;
  scheduler: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function registerWorkerCommand(program: Command): void {
  program.command('worker')
    .description('run pipeline jobs without an HTTP server (same config as serve; pipelines.backend: redis to share jobs between machines)')
    .option('-c, --config <file>', 'config file (default: ./forja.yaml when present)')
    .option('-m, --models <dir>', 'model repository for ctx.infer / ctx.chat (models.dir)')
    .option('--pipelines <dir>', 'pipelines directory (pipelines.dir, default ./pipelines)')
    .option('--data <dir>', 'data directory: the SQLite job store (data.dir)')
    .option('--redis <url>', 'use the Redis backend at this URL (pipelines.backend: redis, pipelines.redis_url)')
    .option('--concurrency <n>', 'jobs run at once by this worker', positiveInt, 50)
    .option('--drain-ms <ms>', 'on shutdown, how long running steps may finish before they are aborted and handed back', positiveInt, 10_000)
    .option('--no-scheduler', 'do not fire cron schedules from this process')
    .action(async (flags: WorkerFlags) => {
      await runWorker(flags);
    });
}

function workerConfig(flags: WorkerFlags): Readonly<ForjaConfig> {
  const overrides: Record<string, Record<string, unknown>> = {};
  const set = (section: string, key: string, value: unknown) => {
    if (value !== undefined) (overrides[section] ??= {})[key] = value;
  };
  set('models', 'dir', flags.models);
  set('pipelines', 'dir', flags.pipelines);
  set('data', 'dir', flags.data);
  if (flags.redis) {
    set('pipelines', 'backend', 'redis');
    set('pipelines', 'redis_url', flags.redis);
  }
  return loadConfig({ file: flags.config, overrides }).config;
}

/** What would leave this worker idle forever, as a sentence; undefined when the setup can work. */
function misconfiguration(config: Readonly<ForjaConfig>, pipelinesDir: string): string | undefined {
  if (!existsSync(pipelinesDir)) return `no pipelines directory at ${pipelinesDir}: pass --pipelines DIR or set pipelines.dir`;
  if (config.pipelines.backend === 'sqlite') {
    const store = path.join(path.resolve(config.data.dir), 'jobs.sqlite');
    if (!existsSync(store)) {
      return `no job store at ${store}: a worker on SQLite shares the data directory of a forja serve on this machine ` +
        '(start it first, or point --data at its data.dir); to run workers on other machines use pipelines.backend: redis (or --redis URL)';
    }
  }
  return undefined;
}

async function runWorker(flags: WorkerFlags): Promise<void> {
  const config = workerConfig(flags);
  const pipelinesDir = path.resolve(config.pipelines.dir ?? './pipelines');
  const problem = misconfiguration(config, pipelinesDir);
  if (problem) throw new Error(problem);

  const logger = createLogger(config.log.level);
  const registry = createRegistry();
  // Without a model repository the worker still runs jobs; ctx.infer / ctx.chat then fail clearly.
  const runtime: ModelRuntime | undefined = existsSync(config.models.dir) ? createModelRuntime(config, { logger, registry }) : undefined;
  if (!runtime) logger.info({ models: path.resolve(config.models.dir) }, 'no model repository: ctx.infer and ctx.chat are unavailable on this worker');

  const service = new PipelineService({
    ...pipelineServiceOptions(config),
    pipelinesDir,
    runWorker: true,
    runScheduler: flags.scheduler,
    worker: { concurrency: flags.concurrency },
    registry,
    logger,
    models: runtime ? pipelineModels(runtime.inference) : undefined,
  });
  const close = async () => {
    await service.stop({ timeoutMs: flags.drainMs });
    await runtime?.manager.close();
  };
  try {
    await runtime?.manager.start();
    await service.start();
  } catch (err) {
    await close().catch(() => undefined);
    throw new Error(`cannot start the worker on ${describeBackend(config)}: ${(err as Error).message}`);
  }
  for (const f of service.loadFailures) console.error(`forja worker: pipeline ${f.name} (${f.file}) failed to load: ${f.error}`);
  const names = service.pipelines().map((p) => p.name);
  if (names.length === 0) {
    await close();
    throw new Error(`no pipeline loaded from ${pipelinesDir}${service.loadFailures.length ? ' (see the failures above)' : ''}`);
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      // A second Ctrl-C: out now. Jobs still running are taken back at once by this node's next start.
      if (signal === 'SIGINT') process.exit(130);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'worker draining before exit');
    close().then(() => process.exit(0), (err: Error) => { console.error(`forja worker: ${err.message}`); process.exit(1); });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  const models = runtime ? `${runtime.manager.modelNames().length} models` : 'no models';
  // The ready line: scripts and tests wait for it.
  process.stdout.write(`forja worker running ${names.join(', ')} on ${describeBackend(config)} with ${models}\n`);
}

function describeBackend(config: Readonly<ForjaConfig>): string {
  const p = config.pipelines;
  return p.backend === 'redis' ? `redis ${withoutCredentials(p.redis_url)} (prefix ${p.redis_prefix})` : `sqlite ${path.join(path.resolve(config.data.dir), 'jobs.sqlite')}`;
}

/** A Redis URL may carry a password; the ready line and errors never show it. */
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(an invalid Redis URL)';
  }
}
