// A cron schedule: fires once a night (03:00 UTC) even with several workers running, and once only.
// Run it now by hand: forja jobs submit nightly-cleanup (the input defaults to 30 days).
import { z } from 'zod';
import { definePipeline } from 'forja';

export default definePipeline({
  input: z.object({ olderThanDays: z.number().int().min(1).max(36_500).default(30) }),
  schedule: { cron: '0 3 * * *', tz: 'UTC', input: { olderThanDays: 30 } }, // tz: any IANA zone, e.g. 'Europe/Madrid'
  retry: { attempts: 2 },
  async run(input, ctx) {
    const cutoff = await ctx.step('cutoff', () => new Date(Date.now() - input.olderThanDays * 86_400_000).toISOString());
    ctx.log('cleaning up', { cutoff });
    return { cutoff };
  },
});
