export { RedisBackend, type RedisBackendOptions } from './redis-backend.js';
export { RedisKeys } from './redis-keys.js';
