/**
 * pino logs on stdout: JSON lines for machines, or pino-pretty's human lines for a terminal.
 * Secrets in well-known places are redacted before they are written, in either format.
 */
import { pino, destination as pinoDestination, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';

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

export type LogFormat = 'auto' | 'pretty' | 'json';

/** `auto` is pretty for a person at a terminal and JSON for everything else (pipes, files, collectors). */
export function resolveLogFormat(format: LogFormat, isTTY = process.stdout.isTTY === true): 'pretty' | 'json' {
  return format === 'auto' ? (isTTY ? 'pretty' : 'json') : format;
}

export function createLogger(level: LevelWithSilent = 'info', destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  // Synchronous in both formats, so the last lines before an exit are never lost.
  const stream = destination ?? (resolveLogFormat(format) === 'pretty'
    ? pretty({ destination: 1, sync: true, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' })
    : pinoDestination({ dest: 1, sync: true }));
  return pino({ level, base: { service: 'forja' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, stream);
}

/**
 * The ready line: `Forja listening on http://H:P` with the URL as a field, logged at info whatever
 * `log.level` says (scripts and orchestrators wait for it). Nothing before it names the URL.
 */
export function logReady(logger: Logger, addresses: string, fields: Record<string, unknown> = {}): void {
  logger.child({}, { level: 'info' }).info(fields, `Forja listening on ${addresses}`);
}
