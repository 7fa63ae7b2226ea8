export { buildServer, type ForjaServer, type BuildOptions } from './app.js';
export { buildOpenApiDocument } from './openapi.js';
export { FORJA_VERSION } from './version.js';
