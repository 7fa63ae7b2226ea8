/** The pipelines section of the config as PipelineService options: one mapping for serve and worker. */
import path from 'node:path';
import type { ForjaConfig } from '../config/schema.js';
import type { PipelineServiceOptions } from '../pipelines/service.js';

export function pipelineServiceOptions(config: Readonly<ForjaConfig>): Pick<PipelineServiceOptions, 'dataDir' | 'pipelinesDir' | 'backend' | 'redisUrl' | 'redisPrefix' | 'backendTimeoutMs' | 'nodeId' | 'runWorker'> {
  const p = config.pipelines;
  return {
    dataDir: path.resolve(config.data.dir),
    pipelinesDir: p.dir === undefined ? undefined : path.resolve(p.dir),
    backend: p.backend,
    redisUrl: p.redis_url,
    redisPrefix: p.redis_prefix,
    backendTimeoutMs: p.backend_timeout_ms,
    nodeId: p.node_id,
    runWorker: p.run_jobs,
  };
}
