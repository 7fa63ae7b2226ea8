/** The Redis (BullMQ) backend through the shared conformance suite; each store is its own key prefix. */
import { RedisBackend } from '../../../src/pipelines/queues/redis/index.js';
import { REDIS_URL, deleteRedisPrefix, redisSkipReason } from '../redis-available.js';
import { runBackendConformance } from './backend-conformance.js';

const skip = await redisSkipReason();
if (skip) console.log(`# SKIP redis backend: ${skip}`);
runBackendConformance({
  name: 'redis (BullMQ)',
  skip,
  create: (store) => new RedisBackend({ url: REDIS_URL, prefix: `forja-test-${store}` }),
  cleanup: async (stores) => { for (const s of stores) await deleteRedisPrefix(`forja-test-${s}`); },
});
