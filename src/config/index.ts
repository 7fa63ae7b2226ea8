export { configSchema, type ForjaConfig, type ConfigInput } from './schema.js';
export { loadConfig, validateConfig, deepMerge, type LoadConfigOptions, type LoadedConfig } from './load.js';
