/**
 * Key names of the Redis backend. BullMQ owns `<prefix>:q:<pipeline>:*` (one BullMQ queue per
 * pipeline); Forja's own keys sit beside them. A job id carries its pipeline (`<pipeline>~<uuid>`),
 * so a job is found from its id alone.
 */

export class RedisKeys {
  readonly queuePrefix: string;

  constructor(readonly prefix: string) {
    this.queuePrefix = `${prefix}:q`;
  }

  static jobId(pipeline: string, uuid: string): string {
    return `${pipeline}~${uuid}`;
  }

  /** The pipeline named in a job id, or undefined for ids this backend never made. */
  static pipelineOf(jobId: string): string | undefined {
    const i = jobId.lastIndexOf('~');
    return i > 0 ? jobId.slice(0, i) : undefined;
  }

  queueKey(pipeline: string, suffix: string): string {
    return `${this.queuePrefix}:${pipeline}:${suffix}`;
  }

  job(jobId: string): string {
    return this.queueKey(RedisKeys.pipelineOf(jobId) ?? '', jobId);
  }

  lock(jobId: string): string {
    return `${this.job(jobId)}:lock`;
  }

  steps(jobId: string): string {
    return `${this.prefix}:steps:${jobId}`;
  }

  stepOrder(jobId: string): string {
    return `${this.prefix}:steporder:${jobId}`;
  }

  logs(jobId: string): string {
    return `${this.prefix}:logs:${jobId}`;
  }

  idempotency(pipeline: string, key: string): string {
    return `${this.prefix}:idem:${pipeline}:${key}`;
  }

  /** Every job, scored by a global sequence (listing newest first). */
  index(): string {
    return `${this.prefix}:index`;
  }

  pipelineIndex(pipeline: string): string {
    return `${this.prefix}:index:${pipeline}`;
  }

  sequence(): string {
    return `${this.prefix}:seq`;
  }

  cancelledSet(pipeline: string): string {
    return `${this.prefix}:cancelled:${pipeline}`;
  }

  scheduleTick(key: string): string {
    return `${this.prefix}:tick:${key}`;
  }
}
