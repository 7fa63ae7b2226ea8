/**
 * Which queue backend a service opens. The service takes a factory, so tests and embedders can hand
 * it a backend of their own; the default opens SQLite in the data directory or Redis by URL.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { QueueBackend } from './queues/backend.js';
import { SqliteBackend } from './queues/sqlite/index.js';

export type BackendFactory = () => Promise<QueueBackend>;

export interface BackendSettings {
  backend?: 'sqlite' | 'redis';
  dataDir: string;
  redisUrl?: string;
  /** Key prefix in Redis. Default "forja". */
  redisPrefix?: string;
  /** How long a request waits for Redis before QUEUE_UNAVAILABLE. */
  backendTimeoutMs?: number;
  logger: Logger;
}

export function defaultBackendFactory(settings: BackendSettings): BackendFactory {
  return async () => {
    if (settings.backend === 'redis') {
      // Imported only when used: a SQLite installation never loads BullMQ.
      const { RedisBackend } = await import('./queues/redis/index.js');
      return new RedisBackend({
        url: settings.redisUrl ?? 'redis://127.0.0.1:6379', prefix: settings.redisPrefix ?? 'forja', logger: settings.logger,
        commandTimeoutMs: settings.backendTimeoutMs,
      });
    }
    return new SqliteBackend({ file: path.join(path.resolve(settings.dataDir), 'jobs.sqlite') });
  };
}
