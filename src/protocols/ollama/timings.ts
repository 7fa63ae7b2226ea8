/**
 * The durations of Ollama's final object, in nanoseconds, measured around the engine: total from
 * the request's arrival, load while the model was being acquired (loading it if it was not),
 * prompt evaluation from then to the first generated text, and generation from there to the end.
 */
import type { TokenUsage } from '../../inference/types.js';

export interface FinalTimings {
  total_duration: number;
  load_duration: number;
  prompt_eval_count: number;
  prompt_eval_duration: number;
  eval_count: number;
  eval_duration: number;
}

const ns = (ms: number) => Math.max(0, Math.round(ms * 1e6));

export class Timings {
  private readonly start = performance.now();
  private acquired = this.start;
  private firstToken: number | undefined;

  loaded(): void {
    this.acquired = performance.now();
  }

  token(): void {
    this.firstToken ??= performance.now();
  }

  /** Only the totals for a request without a generation (embeddings). */
  sinceStart(): { total_duration: number; load_duration: number } {
    return { total_duration: ns(performance.now() - this.start), load_duration: ns(this.acquired - this.start) };
  }

  final(usage: TokenUsage): FinalTimings {
    const end = performance.now();
    const first = this.firstToken ?? end;
    return {
      total_duration: ns(end - this.start),
      load_duration: ns(this.acquired - this.start),
      prompt_eval_count: usage.promptTokens,
      prompt_eval_duration: ns(first - this.acquired),
      eval_count: usage.completionTokens,
      eval_duration: ns(end - first),
    };
  }
}
