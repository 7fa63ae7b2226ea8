export { buildServer, type ForjaServer, type BuildOptions } from './app.js';
export { buildOpenApiDocument } from './openapi.js';
export { toHttpError } from './http-errors.js';
export { FORJA_VERSION } from './version.js';
