/**
 * Cron schedules, parsed and evaluated by cron-parser: five fields (minute hour day-of-month month
 * day-of-week) or one of @yearly @annually @monthly @weekly @daily @hourly, in an IANA time zone
 * (default UTC). Lists, ranges, steps, names, 7 = Sunday, L and # work as cron-parser documents;
 * when both day fields are restricted a day matches if either does, as in Vixie cron.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';

export interface CronSchedule {
  source: string;
  /** IANA time zone the fields are read in. */
  tz: string;
}

const ALIASES = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly']);

function expression(c: CronSchedule, currentDate: number): CronExpression {
  return CronExpressionParser.parse(c.source, { currentDate: new Date(currentDate), tz: c.tz });
}

/** Validates an expression and a time zone; throws an Error naming what is wrong. */
export function parseCron(source: string, tz = 'UTC'): CronSchedule {
  const trimmed = source.trim();
  const isAlias = ALIASES.has(trimmed.toLowerCase());
  // Six fields would add seconds; the scheduler fires on whole minutes.
  if (!isAlias && trimmed.split(/\s+/).length !== 5) throw new Error(`cron "${source}" must have 5 fields (minute hour day month weekday) or be one of ${[...ALIASES].join(' ')}`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new Error(`cron time zone "${tz}" is not an IANA time zone (e.g. UTC, Europe/Madrid, America/New_York)`);
  }
  const schedule = { source: isAlias ? trimmed.toLowerCase() : trimmed, tz };
  try {
    expression(schedule, Date.now());
  } catch (err) {
    throw new Error(`cron "${source}" is invalid: ${(err as Error).message}`);
  }
  return schedule;
}

/** Whether the minute containing `date` is a tick of the schedule. */
export function cronMatches(c: CronSchedule, date: Date): boolean {
  const minute = Math.floor(date.getTime() / 60_000) * 60_000;
  return nextCronTick(c, minute - 1) === minute;
}

/** The first tick strictly after `after` (ms), or undefined when there is none. */
export function nextCronTick(c: CronSchedule, after: number): number | undefined {
  const interval = expression(c, after);
  if (!interval.hasNext()) return undefined;
  return interval.next().getTime();
}
