/** The SQLite queue through the shared conformance suite: each store is its own database file. */
import path from 'node:path';
import { SqliteBackend } from '../../../src/pipelines/queues/sqlite/index.js';
import { tempDir } from '../helpers.js';
import { runBackendConformance } from './backend-conformance.js';

const dir = tempDir();
runBackendConformance({
  name: 'sqlite',
  create: (store) => new SqliteBackend({ file: path.join(dir, `${store}.db`) }),
});
