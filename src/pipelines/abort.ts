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
