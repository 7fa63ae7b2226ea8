export { v2Routes, V2_EXTENSIONS, type V2Options } from './routes.js';
export * as v2Schemas from './schemas.js';
