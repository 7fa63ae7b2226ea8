/**
 * The fewest tokens a text can take, from its byte length alone, so a prompt that cannot fit the
 * context is refused before it is tokenized: tokenizing runs on the event loop and costs in
 * proportion to the text (10 MB took 2.2 s, and the server answered nothing meanwhile).
 *
 * The bound holds for lossless tokenizers only, SentencePiece (`llama`) and byte-level BPE
 * (`gpt2`): every byte of the text is covered by some token, and no token covers more bytes than
 * the longest vocabulary entry as stored in the file, because a stored entry is never shorter
 * than what it stands for ("▁" for a space, BPE's one or two bytes per raw byte, "<0x41>" for a
 * byte fallback). Tokenizers that normalise text (WordPiece, Unigram) may drop bytes, so they get
 * no bound.
 */
const LOSSLESS_TOKENIZERS = new Set(['llama', 'gpt2']);

export class TokenLowerBound {
  private constructor(readonly maxTokenBytes: number) {}

  /** From the GGUF's tokenizer.ggml.model and tokenizer.ggml.tokens; undefined when no bound is safe. */
  static fromVocabulary(tokenizerModel: unknown, tokens: readonly unknown[]): TokenLowerBound | undefined {
    if (typeof tokenizerModel !== 'string' || !LOSSLESS_TOKENIZERS.has(tokenizerModel)) return undefined;
    let longest = 0;
    for (const token of tokens) longest = Math.max(longest, Buffer.byteLength(String(token)));
    return longest > 0 ? new TokenLowerBound(longest) : undefined;
  }

  /** At least this many tokens for a text of `bytes` bytes. */
  atLeast(bytes: number): number {
    return Math.ceil(bytes / this.maxTokenBytes);
  }
}
