// A long "training" step that checkpoints every epoch and reports progress. Kill the server in the
// middle and start it again: the job resumes at the last saved epoch, not at zero.
// Run: forja jobs submit train-with-checkpoints --input '{"epochs": 50}'
import { z } from 'zod';
import { definePipeline } from 'forja';

export default definePipeline({
  input: z.object({ epochs: z.number().int().min(1).max(10_000).default(20) }),
  timeoutMs: 60 * 60_000,
  concurrency: 1,
  async run(input, ctx) {
    const model = await ctx.step('train', async ({ checkpoint, saveCheckpoint, progress, signal, log }) => {
      let state = checkpoint ?? { epoch: 0, loss: 1 };
      if (checkpoint) log(`resuming at epoch ${state.epoch}`);
      while (state.epoch < input.epochs) {
        signal.throwIfAborted();
        await new Promise((r) => setTimeout(r, 200)); // one "epoch" of work
        state = { epoch: state.epoch + 1, loss: state.loss * 0.8 };
        await saveCheckpoint(state);
        progress(state.epoch / input.epochs, `epoch ${state.epoch}/${input.epochs}, loss ${state.loss.toFixed(4)}`);
      }
      return state;
    }, { retry: { attempts: 3, initialMs: 1000 } });
    const report = await ctx.step('evaluate', () => ({ accuracy: 1 - model.loss / 2 }));
    return { ...model, ...report };
  },
});
