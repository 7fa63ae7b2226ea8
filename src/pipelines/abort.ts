/** Small AbortSignal helpers the runner uses: named abort reasons and an abortable sleep. */

/** Why a run or step was stopped; carried as the signal's reason. */
export class AbortReason extends Error {
  /** storage: the queue storage failed (full, unreachable) while the run wrote to it; the job is handed back. */
  constructor(readonly kind: 'cancelled' | 'timeout' | 'lease-lost' | 'shutdown' | 'storage', message: string) {
    super(message);
    this.name = kind === 'timeout' ? 'TimeoutError' : 'AbortError';
  }
}

export function reasonOf(signal: AbortSignal): AbortReason | undefined {
  return signal.reason instanceof AbortReason ? signal.reason : undefined;
}

/** Resolves after ms, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => { clearTimeout(timer); reject(signal!.reason); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A child controller aborted with the parent's reason; dispose() detaches it. */
export function childController(parent: AbortSignal): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { controller, dispose: () => {} };
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { controller, dispose: () => parent.removeEventListener('abort', onAbort) };
}

/** Rejects with the signal's reason as soon as it aborts, even if `work` ignores the signal. */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

/**
 * A run's stop switch whose AbortSignal is only made when something asks for it (ctx.signal, a step,
 * a model call): most jobs never do, and an AbortController costs more than a no-op job's other work.
 * `race` and `onAbort` work without one.
 */
export class RunAbort {
  private controller: AbortController | undefined;
  private stopped: { reason: unknown } | undefined;
  private listeners: ((reason: unknown) => void)[] = [];

  get aborted(): boolean {
    return this.stopped !== undefined;
  }

  get reason(): unknown {
    return this.stopped?.reason;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.stopped) this.controller.abort(this.stopped.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.stopped) return;
    this.stopped = { reason };
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = [];
    for (const l of listeners) l(reason);
  }

  /** Calls `listener` once on abort; returns the function that removes it. */
  onAbort(listener: (reason: unknown) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** A switch that stops when this one does (and can be stopped alone); dispose() detaches it. */
  child(): { abort: RunAbort; dispose: () => void } {
    const child = new RunAbort();
    if (this.stopped) {
      child.abort(this.stopped.reason);
      return { abort: child, dispose: () => {} };
    }
    return { abort: child, dispose: this.onAbort((reason) => child.abort(reason)) };
  }

  /** Rejects with the reason as soon as this aborts, even if `work` ignores it. */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(this.stopped.reason);
    return new Promise<T>((resolve, reject) => {
      const off = this.onAbort(reject);
      work.then((v) => { off(); resolve(v); }, (e) => { off(); reject(e); });
    });
  }
}
