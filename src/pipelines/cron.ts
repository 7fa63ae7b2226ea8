/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC:
 * `*`, lists `a,b`, ranges `a-b`, steps `*\/n` and `a-b/n`, names for months and weekdays, 7 = Sunday.
 * As in Vixie cron, when both day fields are restricted a day matches if either does.
 */

export interface CronSchedule {
  source: string;
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  dayRestricted: boolean;
  weekdayRestricted: boolean;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function parseField(field: string, min: number, max: number, names: string[] = [], nameBase = 0): Set<number> {
  const out = new Set<number>();
  const value = (token: string): number => {
    const i = names.indexOf(token.toLowerCase());
    const n = i >= 0 ? i + nameBase : Number(token);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`cron value "${token}" is out of range ${min}-${max}`);
    return n;
  };
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad cron step "${stepText}"`);
    let lo: number;
    let hi: number;
    if (range === '*') { lo = min; hi = max; } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      lo = value(a); hi = value(b);
      if (lo > hi) throw new Error(`bad cron range "${range}"`);
    } else { lo = value(range); hi = stepText === undefined ? lo : max; }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

export function parseCron(expression: string): CronSchedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`cron "${expression}" must have 5 fields (minute hour day month weekday)`);
  const weekdays = parseField(fields[4], 0, 7, DAYS);
  if (weekdays.has(7)) { weekdays.delete(7); weekdays.add(0); }
  return {
    source: expression,
    minutes: parseField(fields[0], 0, 59),
    hours: parseField(fields[1], 0, 23),
    days: parseField(fields[2], 1, 31),
    months: parseField(fields[3], 1, 12, MONTHS, 1),
    weekdays,
    dayRestricted: fields[2] !== '*',
    weekdayRestricted: fields[4] !== '*',
  };
}

export function cronMatches(c: CronSchedule, date: Date): boolean {
  if (!c.minutes.has(date.getUTCMinutes()) || !c.hours.has(date.getUTCHours()) || !c.months.has(date.getUTCMonth() + 1)) return false;
  const dayOk = c.days.has(date.getUTCDate());
  const weekdayOk = c.weekdays.has(date.getUTCDay());
  if (c.dayRestricted && c.weekdayRestricted) return dayOk || weekdayOk;
  if (c.dayRestricted) return dayOk;
  if (c.weekdayRestricted) return weekdayOk;
  return true;
}

/** The first matching minute strictly after `after` (ms), or undefined within ~5 years. */
export function nextCronTick(c: CronSchedule, after: number): number | undefined {
  let t = Math.floor(after / 60_000) * 60_000 + 60_000;
  const limit = after + 5 * 366 * 24 * 3600_000;
  while (t <= limit) {
    const d = new Date(t);
    if (!c.months.has(d.getUTCMonth() + 1)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      continue;
    }
    if (cronMatches(c, d)) return t;
    t += c.hours.has(d.getUTCHours()) ? 60_000 : 3600_000 - d.getUTCMinutes() * 60_000;
  }
  return undefined;
}
