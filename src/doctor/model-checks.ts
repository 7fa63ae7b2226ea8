/**
 * Model checks: every version in the repository is loaded with the server's own loader and
 * unloaded right away (ONNX), or validated the way the GGUF loader validates it before llama.cpp
 * sees it (a full LLM load would take most of the time budget). Each memory estimate is compared
 * with the budget the model manager would use.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Llama } from 'node-llama-cpp';
import { pino } from 'pino';
import type { ForjaConfig } from '../config/schema.js';
import { scanRepository } from '../inference/repository.js';
import type { ModelVersionSource } from '../inference/types.js';
import { createOnnxLoader } from '../inference/backends/onnx/index.js';
import { createRegistry, ServingMetrics } from '../telemetry/metrics.js';
import { result, firstLine, formatBytes, withTimeout, type CheckResult } from './types.js';

const GROUP = 'models';
const PER_VERSION_TIMEOUT_MS = 10_000;

export interface ModelCheckOptions {
  config: Readonly<ForjaConfig>;
  /** node-llama-cpp runtime from the runtime checks, when it started. */
  llama?: Llama;
  /** Epoch ms after which remaining versions are reported as not checked. */
  deadline: number;
}

/** Whether the repository holds GGUF files (decides whether node-llama-cpp is required). */
export function repositoryHasGguf(dir: string): boolean {
  try {
    return [...scanRepository(path.resolve(dir)).values()].some((m) => m.versions.some((v) => v.format === 'gguf'));
  } catch {
    return false;
  }
}

export async function checkModels(options: ModelCheckOptions): Promise<CheckResult[]> {
  const m = options.config.models;
  const dir = path.resolve(m.dir);
  if (!existsSync(dir)) {
    return [result(GROUP, 'repository', 'fail', `${dir} does not exist`, 'create it or point models.dir (--models) at your model repository')];
  }
  let repo;
  try {
    repo = scanRepository(dir);
  } catch (err) {
    return [result(GROUP, 'repository', 'fail', `cannot read ${dir}: ${firstLine(err)}`, 'check the path and its permissions')];
  }
  const budget = m.memory_budget_bytes ?? Math.floor(os.freemem() * m.memory_budget_fraction);
  const budgetText = `${formatBytes(budget)}${m.memory_budget_bytes ? '' : ` (${m.memory_budget_fraction} of free memory)`}`;
  const results = [result(GROUP, 'repository', repo.size > 0 ? 'pass' : 'warn', `${dir}: ${repo.size} model(s), memory budget ${budgetText}`,
    repo.size > 0 ? undefined : 'add models as DIR/<name>/<version>/model.onnx|model.gguf or DIR/<name>.onnx')];

  // A logger that writes nothing: the doctor reports through its table, not log lines.
  const logger = pino({ level: 'silent' });
  const registry = createRegistry();
  const onnx = createOnnxLoader({ threads: 1, instances: 1, execution: 'inline', spinning: false, executionProviders: m.execution_providers, logger, metrics: new ServingMetrics(registry) });
  const gguf = options.llama ? (await import('../inference/backends/llama/index.js')).createLlamaLoader({ registry, logger, llama: options.llama }) : undefined;

  let defaultTotal = 0;
  for (const model of repo.values()) {
    if (model.problem) {
      results.push(result(GROUP, `model ${model.name}`, 'fail', model.problem, `fix ${path.join(dir, model.name, 'model.yaml')} (docs/configuration.md, model.yaml keys)`));
      continue;
    }
    for (const source of model.versions) {
      const name = `model ${model.name} v${source.version}`;
      if (Date.now() > options.deadline) {
        results.push(result(GROUP, name, 'warn', 'not checked: the time budget ran out', 'run forja doctor with fewer models, or check this one by starting forja serve'));
        continue;
      }
      try {
        const { detail, bytes } = await withTimeout(checkVersion(source, onnx, gguf), PER_VERSION_TIMEOUT_MS, 'loading');
        if (source.version === model.defaultVersion && bytes) defaultTotal += bytes;
        if (bytes !== undefined && bytes > budget) {
          results.push(result(GROUP, name, 'fail', `${detail}, but needs ${formatBytes(bytes)} > budget ${formatBytes(budget)}`,
            'raise models.memory_budget_bytes (or memory_budget_fraction), free memory, or use a smaller/quantized model'));
        } else {
          results.push(result(GROUP, name, 'pass', bytes === undefined ? detail : `${detail}, ~${formatBytes(bytes)}`));
        }
      } catch (err) {
        results.push(result(GROUP, name, 'fail', `${source.format} ${path.relative(dir, source.path) || source.path}: ${firstLine(err)}`, hintFor(source)));
      }
    }
  }
  if (defaultTotal > budget) {
    results.push(result(GROUP, 'all models together', 'warn', `${formatBytes(defaultTotal)} > budget ${formatBytes(budget)}`,
      'not every model fits at once: idle ones are unloaded when others load (set models.load: lazy, or raise the budget)'));
  }
  return results;
}

async function checkVersion(source: ModelVersionSource, onnx: ReturnType<typeof createOnnxLoader>,
  gguf: { estimateMemory(s: ModelVersionSource): Promise<number> } | undefined): Promise<{ detail: string; bytes?: number }> {
  if (source.format === 'onnx') {
    const bytes = await onnx.estimateMemory(source);
    const model = await onnx.load(source, { preferGpu: true });
    const device = model.device;
    await model.unload();
    return { detail: `loads on ${device}`, bytes };
  }
  if (source.format === 'gguf') {
    const { validateGguf } = await import('../inference/backends/llama/index.js');
    const summary = await validateGguf(source.path);
    const bytes = gguf ? await gguf.estimateMemory(source) : source.config.memory_bytes;
    return { detail: `valid GGUF (${summary.architecture}, ${formatBytes(summary.fileBytes)}; not loaded)`, bytes };
  }
  const backend = source.config.backend;
  return { detail: `external ${backend?.type ?? 'backend'}${backend && 'url' in backend && backend.url ? ` at ${backend.url}` : ''} (not contacted)` };
}

function hintFor(source: ModelVersionSource): string {
  if (source.format === 'gguf') return 'the file is damaged, truncated or from an unsupported architecture: download it again or convert it with a current llama.cpp';
  if (source.format === 'onnx') return 'the file is damaged or not an ONNX model, or it uses operators this onnxruntime lacks: re-export it, or set execution_providers: [cpu] in model.yaml';
  return 'check backend settings in model.yaml';
}
