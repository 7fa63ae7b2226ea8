export { createRegistry, ServingMetrics } from './metrics.js';
export { createLogger, REDACTED_PATHS, type Logger } from './logger.js';
