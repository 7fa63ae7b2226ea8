/**
 * Continuous batching over the sequences of one llama.cpp context.
 *
 * Each loaded model owns N sequences (model.yaml `parallel`). A job takes a free sequence or
 * waits in a bounded queue (full: LLM_QUEUE_FULL, 429). One loop runs while any job is active;
 * every step puts ALL active sequences into ONE native batch — one token for each generating
 * sequence plus prompt chunks of newly joined ones, up to the batch size — decodes it with one
 * round trip to the native worker, then samples every sequence's next token concurrently. A
 * request that arrives mid-generation joins at the next step. This replaces node-llama-cpp's
 * per-sequence evaluate() path, whose scheduling and per-call overhead halves throughput on small
 * models.
 *
 * Job states: waiting -> active (holds a sequence) -> ended. A cancelled waiting job leaves the
 * queue at once; a cancelled active job is removed, and its KV cells cleared, at the next step
 * boundary (a decode in flight cannot be interrupted).
 *
 * Prompt-prefix cache: a sequence whose job ended normally keeps its KV cells and remembers the
 * tokens they hold. A new job takes the free sequence whose cached tokens share the longest prefix
 * with its prompt, drops the cells after that prefix and ingests only the rest (a multi-turn chat
 * re-sends the whole conversation every turn). Without a match it takes the least recently used
 * sequence. The cells live in the context's KV cache, allocated once at load for every sequence,
 * so the cache adds nothing to the model's memory; a new prompt overwrites the least useful one.
 * KV edits happen only between decodes, never while one is in flight on the native thread.
 */
import { errors } from '../../../errors.js';
import type { NativeContext, NativeSampler } from './native-bindings.js';

export type EndReason = 'stop' | 'length' | 'cancelled' | 'error';

export interface EngineJob {
  prompt: Uint32Array;
  sampler: NativeSampler;
  /** Tokens to generate at most. */
  maxTokens: number;
  /** Extra tokens that end generation (besides the model's end-of-generation tokens). */
  stopTokens?: ReadonlySet<number>;
  /** Receives each generated token; returns true to stop (a stop string was found). */
  onToken(token: number): boolean;
  /**
   * Called exactly once. `generated` counts the tokens passed to onToken; `cachedTokens` the prompt
   * tokens that were reused from the prefix cache instead of decoded.
   */
  onEnd(reason: EndReason, generated: number, error?: unknown, cachedTokens?: number): void;
  signal?: AbortSignal;
}

export interface EngineOptions {
  sequences: number;
  /** Tokens per sequence. */
  contextSize: number;
  /** Tokens per decode (the context's batch size). */
  batchSize: number;
  maxWaiting: number;
  isEndOfGeneration(token: number): boolean;
  /** Observers for metrics; all optional. */
  hooks?: {
    queueChanged?(running: number, waiting: number): void;
    /** Prompt tokens of an admitted job: `cached` of them were reused from the prefix cache. */
    promptIngested?(tokens: number, cached: number): void;
    firstToken?(secondsSinceSubmit: number): void;
    /** Each generated token, as it is produced (so token rates move during a long generation). */
    tokenGenerated?(): void;
    finished?(generated: number, secondsSinceFirstToken: number): void;
  };
}

/** One sequence of the context and the tokens its KV cells hold (positions 0..n-1). */
interface SequenceSlot {
  id: number;
  cached: number[];
  lastUsed: number;
}

interface ActiveJob {
  job: EngineJob;
  sequence: number;
  slot?: SequenceSlot;
  /** Tokens whose KV cells this job has written or reused, in position order. */
  kv: number[];
  /** Prompt tokens reused from the cache. */
  cachedTokens: number;
  /** Cells from this position on must be dropped before the job's first decode (-1: all, undefined: none). */
  trimFrom?: number;
  /** The job ended normally, so its cells are kept for the next prompt that shares a prefix. */
  keepCells: boolean;
  /** Next KV position. */
  position: number;
  /** Prompt tokens already in the KV cache. */
  ingested: number;
  lastToken: number;
  generated: number;
  cancelled: boolean;
  /** onEnd was called (the sequence may still wait to be cleared by reap()). */
  ended: boolean;
  submittedAt: number;
  firstTokenAt: number;
  logitIndex: number;
  detach?: () => void;
}

export class GenerationEngine {
  private readonly freeSequences: SequenceSlot[] = [];
  private useCounter = 0;
  private readonly waiting: ActiveJob[] = [];
  private readonly active: ActiveJob[] = [];
  private looping = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly native: NativeContext, private readonly options: EngineOptions) {
    for (let s = 0; s < options.sequences; s++) this.freeSequences.push({ id: s, cached: [], lastUsed: 0 });
  }

  get runningCount(): number { return this.active.length; }
  get waitingCount(): number { return this.waiting.length; }

  /** Admits a job (or queues it); throws LLM_QUEUE_FULL when the queue is full. */
  submit(job: EngineJob): void {
    if (this.closed) throw errors.MODEL_UNAVAILABLE('the model is unloading');
    if (job.prompt.length === 0) throw errors.REQUEST_INVALID('the prompt is empty');
    // A cancelled job keeps its sequence until the decode in flight returns (a few ms): count it as
    // free so a client that replaces an aborted request is queued, not refused.
    const freeing = this.active.reduce((n, e) => n + (e.cancelled ? 1 : 0), 0);
    if (this.freeSequences.length + freeing === 0 && this.waiting.length >= this.options.maxWaiting) {
      job.sampler.dispose();
      throw errors.LLM_QUEUE_FULL(`all ${this.options.sequences} sequences are busy and ${this.waiting.length} requests are waiting`, { headers: { 'retry-after': '1' } });
    }
    const entry: ActiveJob = { job, sequence: -1, kv: [], cachedTokens: 0, keepCells: false, position: 0, ingested: 0, lastToken: 0, generated: 0, cancelled: false, ended: false, submittedAt: performance.now(), firstTokenAt: 0, logitIndex: -1 };
    if (job.signal) {
      if (job.signal.aborted) { job.sampler.dispose(); job.onEnd('cancelled', 0); return; }
      const onAbort = () => this.cancel(entry);
      job.signal.addEventListener('abort', onAbort, { once: true });
      entry.detach = () => job.signal?.removeEventListener('abort', onAbort);
    }
    this.waiting.push(entry);
    this.admit();
    this.changed();
    this.kick();
  }

  /** Ends every job and waits for the loop to stop; the context may be disposed after this. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.waiting.splice(0)) this.finish(entry, 'cancelled');
    for (const entry of this.active) entry.cancelled = true;
    await this.idle;
    for (const entry of this.active.splice(0)) this.finish(entry, 'cancelled');
  }

  private cancel(entry: ActiveJob): void {
    const at = this.waiting.indexOf(entry);
    if (at !== -1) {
      this.waiting.splice(at, 1);
      this.finish(entry, 'cancelled');
      this.changed();
      return;
    }
    entry.cancelled = true;
    // When no decode is in flight the sequence is freed right away.
    if (!this.looping) this.reap();
  }

  private admit(): void {
    while (this.freeSequences.length > 0 && this.waiting.length > 0 && !this.closed) {
      const entry = this.waiting.shift() as ActiveJob;
      this.assignSequence(entry);
      this.active.push(entry);
    }
  }

  /**
   * Gives the job the free sequence with the longest cached prefix of its prompt, or else the least
   * recently used one. At least the prompt's last token is always decoded: its logits pick the
   * first generated token.
   */
  private assignSequence(entry: ActiveJob): void {
    const prompt = entry.job.prompt;
    let best = 0;
    let bestShared = 0;
    for (let i = 0; i < this.freeSequences.length; i++) {
      const slot = this.freeSequences[i];
      const shared = commonPrefixLength(slot.cached, prompt);
      const better = shared > bestShared || (shared === bestShared && slot.lastUsed < this.freeSequences[best].lastUsed);
      if (better) { best = i; bestShared = shared; }
    }
    const slot = this.freeSequences.splice(best, 1)[0];
    const reuse = Math.min(bestShared, prompt.length - 1);
    entry.slot = slot;
    entry.sequence = slot.id;
    if (reuse < slot.cached.length) entry.trimFrom = reuse > 0 ? reuse : -1;
    entry.kv = Array.from(prompt.subarray(0, reuse));
    entry.cachedTokens = reuse;
    entry.ingested = reuse;
    entry.position = reuse;
    slot.cached = [];
    slot.lastUsed = ++this.useCounter;
  }

  /** Drops the cells a newly admitted job does not reuse; runs between decodes only. */
  private applyTrims(): void {
    for (const entry of this.active) {
      if (entry.trimFrom === undefined) continue;
      const from = entry.trimFrom;
      entry.trimFrom = undefined;
      if (from === -1) { this.clearCells(entry.sequence); continue; }
      let trimmed = false;
      try {
        trimmed = this.native.removeTokenCellsFromSequence(entry.sequence, from, -1);
      } catch {
        trimmed = false;
      }
      if (!trimmed) {
        // Recurrent models cannot drop part of a sequence's state: start it over.
        this.clearCells(entry.sequence);
        entry.kv = [];
        entry.cachedTokens = 0;
        entry.ingested = 0;
        entry.position = 0;
      }
    }
  }

  private clearCells(sequence: number): void {
    try {
      this.native.disposeSequence(sequence);
    } catch {
      // the context is being disposed; nothing left to clear
    }
  }

  private changed(): void {
    this.options.hooks?.queueChanged?.(this.active.length, this.waiting.length);
  }

  private kick(): void {
    if (this.looping || this.active.length === 0) return;
    this.looping = true;
    // loop() clears `looping` itself, synchronously with its last check, so no submit slips between.
    this.idle = this.loop().catch(() => { this.looping = false; });
  }

  private finish(entry: ActiveJob, reason: EndReason, error?: unknown): void {
    if (entry.ended) return;
    entry.ended = true;
    entry.detach?.();
    entry.job.sampler.dispose();
    if (entry.generated > 0) {
      const seconds = (performance.now() - entry.firstTokenAt) / 1000;
      this.options.hooks?.finished?.(entry.generated, entry.generated > 1 ? seconds / (entry.generated - 1) : 0);
    }
    try {
      entry.job.onEnd(reason, entry.generated, error, entry.cachedTokens);
    } catch {
      // a listener's failure must not stop the loop that serves the other sequences
    }
  }

  /** Removes cancelled and finished jobs, clears their sequences, admits waiting ones. */
  private reap(): void {
    let removed = false;
    for (let i = this.active.length - 1; i >= 0; i--) {
      const entry = this.active[i];
      if (!entry.cancelled) continue;
      this.active.splice(i, 1);
      this.release(entry);
      this.finish(entry, 'cancelled');
      removed = true;
    }
    if (removed) { this.admit(); this.changed(); }
  }

  /** Gives the sequence back, with its cells kept for the prefix cache when the job ended normally. */
  private release(entry: ActiveJob): void {
    const slot = entry.slot as SequenceSlot;
    if (entry.keepCells && entry.trimFrom === undefined) {
      slot.cached = entry.kv;
    } else {
      this.clearCells(slot.id);
      slot.cached = [];
    }
    this.freeSequences.push(slot);
  }

  /** Ends an active job now (stop, length, error) and gives its sequence back. */
  private end(entry: ActiveJob, reason: EndReason, error?: unknown): void {
    this.finish(entry, reason, error);
    entry.keepCells = reason === 'stop' || reason === 'length';
    entry.cancelled = true;
  }

  private async loop(): Promise<void> {
    const { batchSize, contextSize } = this.options;
    const withLogits: ActiveJob[] = [];
    while (true) {
      this.reap();
      if (this.active.length === 0) { this.looping = false; return; }
      this.applyTrims();
      withLogits.length = 0;
      // Generating sequences first (one token each), then prompt chunks in the space left.
      let size = 0;
      for (const entry of this.active) if (entry.ingested === entry.job.prompt.length) size++;
      let room = batchSize - size;
      const chunks: Array<[ActiveJob, number]> = [];
      for (const entry of this.active) {
        const left = entry.job.prompt.length - entry.ingested;
        if (left === 0 || room === 0) continue;
        const n = Math.min(left, room);
        chunks.push([entry, n]);
        room -= n;
        size += n;
      }
      const native = this.native;
      try {
        native.initBatch(size);
        for (const entry of this.active) {
          if (entry.ingested !== entry.job.prompt.length || chunks.some(([e]) => e === entry)) continue;
          entry.logitIndex = native.addToBatch(entry.sequence, entry.position, Uint32Array.of(entry.lastToken), LOGIT_OF_FIRST)[0];
          entry.kv.push(entry.lastToken);
          entry.position++;
          withLogits.push(entry);
        }
        for (const [entry, n] of chunks) {
          const tokens = entry.job.prompt.subarray(entry.ingested, entry.ingested + n);
          const last = entry.ingested + n === entry.job.prompt.length;
          const indexes = native.addToBatch(entry.sequence, entry.position, tokens, last ? Uint32Array.of(n - 1) : NO_LOGITS);
          for (const token of tokens) entry.kv.push(token);
          entry.position += n;
          entry.ingested += n;
          if (last) {
            entry.logitIndex = indexes[0];
            withLogits.push(entry);
            this.options.hooks?.promptIngested?.(entry.job.prompt.length, entry.cachedTokens);
          }
        }
        await native.decodeBatch();
      } catch (err) {
        const failure = errors.INFERENCE_FAILED(`decode failed: ${(err as Error).message}`, { cause: err });
        for (const entry of [...this.active]) this.end(entry, 'error', failure);
        continue;
      }
      let tokens: number[];
      try {
        tokens = await Promise.all(withLogits.map((entry) => native.sampleToken(entry.logitIndex, entry.job.sampler)));
      } catch (err) {
        const failure = errors.INFERENCE_FAILED(`sampling failed: ${(err as Error).message}`, { cause: err });
        for (const entry of withLogits) this.end(entry, 'error', failure);
        continue;
      }
      const now = performance.now();
      for (let i = 0; i < withLogits.length; i++) {
        const entry = withLogits[i];
        if (entry.cancelled) continue;
        const token = tokens[i];
        if (token < 0 || this.options.isEndOfGeneration(token) || entry.job.stopTokens?.has(token)) { this.end(entry, 'stop'); continue; }
        if (entry.generated === 0) {
          entry.firstTokenAt = now;
          this.options.hooks?.firstToken?.((now - entry.submittedAt) / 1000);
        }
        entry.generated++;
        this.options.hooks?.tokenGenerated?.();
        entry.lastToken = token;
        let stop: boolean;
        try {
          stop = entry.job.onToken(token);
        } catch (err) {
          this.end(entry, 'error', err);
          continue;
        }
        if (stop) this.end(entry, 'stop');
        else if (entry.generated >= entry.job.maxTokens || entry.position >= contextSize) this.end(entry, 'length');
      }
    }
  }
}

function commonPrefixLength(cached: readonly number[], prompt: Uint32Array): number {
  const n = Math.min(cached.length, prompt.length);
  let i = 0;
  while (i < n && cached[i] === prompt[i]) i++;
  return i;
}

const LOGIT_OF_FIRST = Uint32Array.of(0);
const NO_LOGITS = new Uint32Array(0);
