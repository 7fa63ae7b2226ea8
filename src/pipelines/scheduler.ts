/**
 * Fires cron schedules. Every process with a scheduler runs the same timers; for each tick, one
 * storage operation grants the tick to exactly one process (claimScheduleTick), and the job is
 * enqueued with the idempotency key `schedule:<tick>`, so a tick yields one job with any number of
 * workers and across restarts. Ticks missed while no process ran are not back-filled.
 */
import type { Logger } from 'pino';
import { cronMatches, nextCronTick, parseCron, type CronSchedule } from './cron.js';
import type { LoadedPipeline } from './pipeline-loader.js';

export interface ScheduledPipeline {
  pipeline: LoadedPipeline;
  cron: CronSchedule;
  input: unknown;
}

export interface SchedulerDeps {
  claimTick(key: string, tickAt: number): Promise<boolean>;
  enqueue(pipeline: string, input: unknown, idempotencyKey: string): Promise<unknown>;
  logger?: Logger;
  now?: () => number;
}

export function scheduledPipelines(pipelines: LoadedPipeline[]): ScheduledPipeline[] {
  const out: ScheduledPipeline[] = [];
  for (const p of pipelines) {
    const s = p.definition.schedule;
    if (s === undefined) continue;
    const cron = typeof s === 'string' ? parseCron(s) : parseCron(s.cron, s.tz);
    out.push({ pipeline: p, cron, input: typeof s === 'string' ? {} : s.input ?? {} });
  }
  return out;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly now: () => number;

  constructor(private readonly schedules: ScheduledPipeline[], private readonly deps: SchedulerDeps) {
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    if (this.schedules.length === 0) return;
    this.stopped = false;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Fires every schedule matching the minute `tickAt` (ms, a whole minute); returns the pipelines that fired here. */
  async fire(tickAt: number): Promise<string[]> {
    const fired: string[] = [];
    for (const s of this.schedules) {
      if (!cronMatches(s.cron, new Date(tickAt))) continue;
      try {
        if (!(await this.deps.claimTick(`schedule:${s.pipeline.name}`, tickAt))) continue;
        await this.deps.enqueue(s.pipeline.name, s.input, `schedule:${new Date(tickAt).toISOString()}`);
        fired.push(s.pipeline.name);
      } catch (err) {
        this.deps.logger?.error({ err, pipeline: s.pipeline.name }, 'firing a schedule failed');
      }
    }
    return fired;
  }

  private arm(): void {
    if (this.stopped) return;
    const now = this.now();
    let next = Infinity;
    for (const s of this.schedules) next = Math.min(next, nextCronTick(s.cron, now) ?? Infinity);
    if (next === Infinity) return;
    // Long waits are split so a timer never exceeds setTimeout's 24.8-day limit.
    const wait = Math.min(next - now, 3_600_000);
    this.timer = setTimeout(() => {
      if (this.now() >= next) void this.fire(next).finally(() => this.arm());
      else this.arm();
    }, wait);
    this.timer.unref();
  }
}
