/** Tells this process's workers that a pipeline has a job ready now, so they claim without waiting for the next poll. */
export type EnqueuedListener = (pipeline: string) => void;

export class EnqueuedSignal {
  private readonly listeners = new Set<EnqueuedListener>();

  /** Returns the function that removes the listener. */
  on(listener: EnqueuedListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  emit(pipeline: string): void {
    for (const listener of this.listeners) listener(pipeline);
  }
}
