export { SqliteBackend, type SqliteBackendOptions } from './sqlite-backend.js';
export { migrate } from './migrations.js';
