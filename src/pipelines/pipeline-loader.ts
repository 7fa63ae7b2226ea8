/**
 * Loads pipeline modules from a directory: each `.js`/`.mjs`/`.ts`/`.mts` file's default export is a
 * pipeline. TypeScript modules are compiled on import by tsx (scoped to that import, so nothing else
 * in the process changes). A module that fails to import or does not export a valid pipeline is
 * reported by file and name and skipped; the others load.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PipelineDefinition } from './define.js';
import { resolveForjaForPipelines } from './bare-specifiers.js';
import { parseCron } from './cron.js';
import { resolveRetryPolicy, type ResolvedRetryPolicy } from './retry-policy.js';

export interface LoadedPipeline {
  name: string;
  definition: PipelineDefinition<unknown, unknown>;
  file?: string;
  /** The pipeline's retry layer (steps override it); undefined when the pipeline sets none. */
  retry?: ResolvedRetryPolicy;
}

export interface LoadFailure {
  file: string;
  name: string;
  error: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const LOADABLE = new Set(['.js', '.mjs']);
const TYPESCRIPT = new Set(['.ts', '.mts']);

/** Checks a definition's shape and returns it with its name settled; throws with a reason. */
export function preparePipeline(definition: unknown, fallbackName: string, file?: string): LoadedPipeline {
  const def = definition as PipelineDefinition<unknown, unknown> | undefined;
  if (!def || typeof def !== 'object') throw new Error('the default export is not a pipeline object (use definePipeline)');
  if (typeof def.run !== 'function') throw new Error('the pipeline has no run(input, ctx) function');
  const name = def.name ?? fallbackName;
  if (!NAME.test(name)) throw new Error(`invalid pipeline name "${name}" (letters, digits, . _ -)`);
  if (def.input !== undefined && typeof (def.input as { safeParse?: unknown }).safeParse !== 'function') throw new Error('input must be a zod schema');
  if (def.concurrency !== undefined && !(Number.isInteger(def.concurrency) && def.concurrency > 0)) throw new Error('concurrency must be a positive integer');
  if (def.schedule !== undefined) {
    if (typeof def.schedule === 'string') parseCron(def.schedule);
    else if (def.schedule && typeof def.schedule.cron === 'string') parseCron(def.schedule.cron, def.schedule.tz);
    else throw new Error('schedule must be a cron string or { cron, tz?, input? }');
  }
  return { name, definition: def, file, retry: def.retry ? resolveRetryPolicy(def.retry) : undefined };
}

export async function loadPipelineDirectory(dir: string): Promise<{ pipelines: LoadedPipeline[]; failures: LoadFailure[] }> {
  const pipelines: LoadedPipeline[] = [];
  const failures: LoadFailure[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(dir).sort();
  } catch (err) {
    return { pipelines, failures: [{ file: dir, name: path.basename(dir), error: `cannot read the pipelines directory: ${(err as Error).message}` }] };
  }
  const names = new Set<string>();
  resolveForjaForPipelines();
  for (const entry of entries) {
    const ext = path.extname(entry);
    const file = path.join(dir, entry);
    const fallbackName = path.basename(entry, ext);
    if (entry.endsWith('.d.ts') || !(LOADABLE.has(ext) || TYPESCRIPT.has(ext))) continue;
    try {
      const mod = (TYPESCRIPT.has(ext) ? await (await import('tsx/esm/api')).tsImport(pathToFileURL(file).href, import.meta.url) : await import(pathToFileURL(file).href)) as { default?: unknown };
      // A .ts file outside an ESM package is compiled as CommonJS: its export arrives one level down.
      const exported = mod.default as { default?: unknown; run?: unknown } | undefined;
      const definition = exported && typeof exported === 'object' && exported.run === undefined && exported.default !== undefined ? exported.default : exported;
      const loaded = preparePipeline(definition, fallbackName, file);
      if (names.has(loaded.name)) throw new Error(`a pipeline named "${loaded.name}" is already loaded from another file`);
      names.add(loaded.name);
      pipelines.push(loaded);
    } catch (err) {
      failures.push({ file, name: fallbackName, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { pipelines, failures };
}
