export * from './backend.js';
export { SqliteBackend, type SqliteBackendOptions } from './sqlite/index.js';
// The Redis backend is imported on demand (it loads bullmq): './redis/index.js'.
