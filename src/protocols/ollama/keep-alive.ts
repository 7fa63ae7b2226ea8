/**
 * Ollama's keep_alive: a number of seconds, or a Go duration string ("5m", "1h30m", "10s", "0");
 * any negative value keeps the model loaded until it is unloaded by hand. Returned in seconds
 * (-1 for ever) for the model manager.
 */
import { errors } from '../../errors.js';

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
/** Longer than any duration worth writing: bounds the scan below. */
const MAX_LENGTH = 64;

/** "1h30m" -> 5400; undefined when it is not a duration. A bare number is seconds. */
function durationSeconds(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest.length === 0) return undefined;
  const bare = Number(rest);
  if (Number.isFinite(bare) && !/[a-zµ]/i.test(rest)) return sign * bare;
  let total = 0;
  while (rest.length > 0) {
    let i = 0;
    while (i < rest.length && ((rest[i] >= '0' && rest[i] <= '9') || rest[i] === '.')) i++;
    const amount = Number(rest.slice(0, i));
    if (i === 0 || !Number.isFinite(amount)) return undefined;
    rest = rest.slice(i);
    const unit = ['ns', 'us', 'µs', 'ms', 's', 'm', 'h'].find((u) => rest.startsWith(u));
    if (!unit) return undefined;
    total += amount * UNIT_SECONDS[unit];
    rest = rest.slice(unit.length);
  }
  return sign * total;
}

export function keepAliveSeconds(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const seconds = typeof value === 'number' ? value
    : typeof value === 'string' && value.trim().length <= MAX_LENGTH ? durationSeconds(value.trim())
      : undefined;
  if (seconds === undefined || !Number.isFinite(seconds)) {
    throw errors.REQUEST_INVALID(`invalid keep_alive ${JSON.stringify(value)}: give seconds or a duration such as "5m", "1h30m" or "0"`, { param: 'keep_alive' });
  }
  return seconds < 0 ? -1 : seconds;
}
