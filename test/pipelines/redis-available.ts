/**
 * Whether the Redis at 127.0.0.1:6379 answers. Redis suites skip with a message when it does not,
 * except under CI=true, where they must run (and fail).
 */
import net from 'node:net';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.FORJA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function redisSkipReason(): Promise<string | undefined> {
  const url = new URL(REDIS_URL);
  const up = await new Promise<boolean>((resolve) => {
    const socket = net.connect(Number(url.port || 6379), url.hostname);
    socket.setTimeout(1000);
    socket.once('connect', () => { socket.write('PING\r\n'); });
    socket.once('data', (d) => { socket.destroy(); resolve(d.toString().startsWith('+PONG')); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
  if (up) return undefined;
  if (process.env.CI === 'true') return undefined; // must run (and fail) in CI
  return `Redis is not reachable at ${REDIS_URL}; start it to run the Redis backend tests (they are required when CI=true)`;
}

/** Deletes every key under a test prefix (tests share the one Redis server). */
export async function deleteRedisPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
