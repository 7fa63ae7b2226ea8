/**
 * Turns generated tokens into text deltas as they come. Two things make the naive
 * "detokenize each token" wrong: SentencePiece drops the leading space of the first token of a
 * detokenize call, and a multi-byte character can be split over several byte tokens. So each
 * delta is detokenized after a few context tokens (and the context's own text cut off), and a
 * delta that ends inside a character is held until the character is complete.
 */
const REPLACEMENT = '\uFFFD';
const CONTEXT_TOKENS = 2;
// A UTF-8 character is at most 4 byte tokens; hold no longer than that.
const MAX_HELD = 4;

export class IncrementalDetokenizer {
  private context: number[];
  private pending: number[] = [];

  /** `context`: tokens before the first generated one (the prompt's tail). */
  constructor(private readonly detokenize: (tokens: Uint32Array) => string, context: ArrayLike<number>) {
    this.context = Array.from(context).slice(-CONTEXT_TOKENS);
  }

  /** Adds a token; returns the text it completes ('' while a character is still partial). */
  push(token: number): string {
    this.pending.push(token);
    const prefix = this.context.length > 0 ? this.detokenize(Uint32Array.from(this.context)) : '';
    const full = this.detokenize(Uint32Array.from([...this.context, ...this.pending]));
    let delta = full.startsWith(prefix) ? full.slice(prefix.length) : this.detokenize(Uint32Array.from(this.pending));
    if (delta.endsWith(REPLACEMENT) && this.pending.length < MAX_HELD) return '';
    if (delta.endsWith(REPLACEMENT)) delta = delta.replace(/\uFFFD+$/, '');
    this.context = [...this.context, ...this.pending].slice(-CONTEXT_TOKENS);
    this.pending = [];
    return delta;
  }

  /** Text still held at the end of generation (an incomplete character is dropped). */
  flush(): string {
    if (this.pending.length === 0) return '';
    const prefix = this.context.length > 0 ? this.detokenize(Uint32Array.from(this.context)) : '';
    const full = this.detokenize(Uint32Array.from([...this.context, ...this.pending]));
    this.pending = [];
    return (full.startsWith(prefix) ? full.slice(prefix.length) : '').replace(/\uFFFD+$/, '');
  }
}
