/**
 * The pipelines a service knows: those given in code and those loaded from a directory, by name,
 * with the load failures kept for GET /api/pipelines and the worker's start-up report.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { PipelineDefinition } from './define.js';
import { loadPipelineDirectory, preparePipeline, type LoadedPipeline, type LoadFailure } from './pipeline-loader.js';

export interface PipelineInfo {
  name: string;
  file?: string;
  schedule?: string;
  /** The schedule's time zone, when it has one. */
  tz?: string;
  concurrency?: number;
  timeoutMs?: number;
  webhook: 'signed' | 'unsigned' | 'off';
}

export class PipelineRegistry {
  failures: LoadFailure[] = [];
  private readonly byName = new Map<string, LoadedPipeline>();

  /** Adds the pipelines given in code, then those of `dir`; a name defined twice is a failure. */
  async load(options: { pipelines?: PipelineDefinition<any, any>[]; dir?: string; logger: Logger }): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const def of options.pipelines ?? []) {
      const loaded = preparePipeline(def, def.name ?? 'pipeline');
      this.byName.set(loaded.name, loaded);
    }
    if (!options.dir) return;
    const { pipelines, failures } = await loadPipelineDirectory(path.resolve(options.dir));
    for (const p of pipelines) {
      if (this.byName.has(p.name)) failures.push({ file: p.file ?? '', name: p.name, error: `a pipeline named "${p.name}" is already defined` });
      else this.byName.set(p.name, p);
    }
    for (const f of failures) options.logger.error({ pipeline: f.name, file: f.file, err: f.error }, `pipeline "${f.name}" failed to load: ${f.error}`);
    this.failures = failures;
  }

  get(name: string): LoadedPipeline | undefined {
    return this.byName.get(name);
  }

  all(): LoadedPipeline[] {
    return [...this.byName.values()];
  }

  info(): PipelineInfo[] {
    return this.all().map((p) => {
      const d = p.definition;
      const hook = d.webhook;
      const schedule = d.schedule === undefined ? undefined : typeof d.schedule === 'string' ? { cron: d.schedule, tz: undefined } : d.schedule;
      return {
        name: p.name, file: p.file, concurrency: d.concurrency, timeoutMs: d.timeoutMs,
        schedule: schedule?.cron, tz: schedule?.tz,
        webhook: hook?.secretEnv ? 'signed' : hook?.allowUnsigned ? 'unsigned' : 'off',
      };
    });
  }
}
