// A cron schedule: fires once a night (UTC) even with several workers running, and once only.
import { definePipeline } from 'forja';

export default definePipeline({
  schedule: { cron: '0 3 * * *', input: { olderThanDays: 30 } },
  retry: { attempts: 2 },
  async run(input, ctx) {
    const cutoff = await ctx.step('cutoff', () => new Date(Date.now() - input.olderThanDays * 86_400_000).toISOString());
    ctx.log('cleaning up', { cutoff });
    return { cutoff };
  },
});
