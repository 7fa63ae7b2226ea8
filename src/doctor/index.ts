/**
 * `forja doctor`: runs every check group and collects one list of results. Checks run one group
 * after another (a model load and a GPU probe at the same time would only compete), each with its
 * own timeout, so the whole report stays within about 30 seconds.
 */
import path from 'node:path';
import { checkConfig } from './config-checks.js';
import { checkModels, repositoryHasGguf } from './model-checks.js';
import { summarize, type DoctorReport } from './report.js';
import { checkNode, checkOnnxRuntime, probeLlama } from './runtime-checks.js';
import { checkRedis } from './service-checks.js';
import { checkDataDir, checkMemory, checkPort } from './system-checks.js';
import type { CheckResult } from './types.js';

export { formatTable, summarize, type DoctorReport } from './report.js';
export type { CheckResult, CheckStatus } from './types.js';

/** The whole run aims to finish within this; model loads stop being started after it. */
const BUDGET_MS = 25_000;

export interface DoctorOptions {
  /** --config FILE */
  config?: string;
  /** Values from flags, nested like the config ({ models: { dir } }). */
  overrides?: Record<string, Record<string, unknown>>;
  env?: NodeJS.ProcessEnv;
}

export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const started = Date.now();
  const results: CheckResult[] = [];
  const configProbe = checkConfig(options.config, options.overrides ?? {}, options.env);
  const config = configProbe.config;

  results.push(checkNode());
  results.push(...await checkOnnxRuntime());
  const llama = await probeLlama(repositoryHasGguf(config.models.dir));
  results.push(...llama.results);

  results.push(checkMemory());
  results.push(...checkDataDir(path.resolve(config.data.dir)));
  results.push(await checkPort(config.server.host, config.server.port));

  results.push(...configProbe.results);
  results.push(...await checkModels({ config, llama: llama.llama, deadline: started + BUDGET_MS }));
  results.push(await checkRedis(config));

  await llama.llama?.dispose().catch(() => undefined);
  return summarize(results, Date.now() - started);
}
