/** Services Forja depends on: Redis, only when the pipelines backend is redis. */
import type { ForjaConfig } from '../config/schema.js';
import { result, firstLine, type CheckResult } from './types.js';

const GROUP = 'services';
const CONNECT_TIMEOUT_MS = 3_000;

/** Strips a password from a Redis URL before it is printed. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export async function checkRedis(config: Readonly<ForjaConfig>): Promise<CheckResult> {
  const p = config.pipelines;
  if (p.backend !== 'redis') return result(GROUP, 'Redis', 'skip', 'not used (pipelines.backend is sqlite)');
  const shown = displayUrl(p.redis_url);
  const { Redis } = await import('ioredis');
  // One attempt, no reconnect loop: the doctor wants an answer, not resilience.
  const client = new Redis(p.redis_url, { lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const pong = await client.ping();
    const info = await client.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    return result(GROUP, 'Redis', pong === 'PONG' ? 'pass' : 'fail', `${shown}: reachable, Redis ${version}`);
  } catch (err) {
    return result(GROUP, 'Redis', 'fail', `${shown}: ${firstLine(err)}`,
      'start Redis (docker run -p 6379:6379 redis:7), fix pipelines.redis_url, or use pipelines.backend: sqlite on one machine');
  } finally {
    client.disconnect();
  }
}
