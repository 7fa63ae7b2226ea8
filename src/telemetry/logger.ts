/** pino JSON logs; secrets in well-known places are redacted before they are written. */
import { pino, destination as pinoDestination, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'apiKey',
  'secret',
  // One level deeper, for objects that carry a request's or a client's headers (an upstream call's headers …).
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers.cookie',
  '*.apiKey',
  '*.secret',
];

export function createLogger(level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  return pino({ level, base: { service: 'forja' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination ?? pinoDestination({ dest: 1, sync: true }));
}
