/**
 * Sequences over request/response protocols (REST and gRPC infer), as Triton's sequence batcher
 * takes them: each request of a stateful model names its sequence (`sequence_id`, an unsigned
 * integer or a string) and marks its first and last request (`sequence_start`, `sequence_end`).
 * A sequence is a session of sessions.ts keyed by model and id instead of owned by a socket, so its
 * steps keep the session's state and batch with every other session's steps of that model.
 *
 * start opens the sequence (or restarts an open one: its state is zeroed again at that step); a
 * request without start must name an open sequence; end frees it once its step is done, as does
 * `idle_timeout_s` without a request. At most `max_sequences` are open per model.
 */
import { errors } from '../errors.js';
import type { Tensor } from './types.js';
import type { Session, SessionService, StepResult } from './sessions.js';

/** A sequence id: JSON numbers and gRPC int64/uint64 become bigints, so 42 over REST and gRPC is one id. */
export type SequenceId = bigint | string;

export interface SequenceFlags {
  /** Absent, 0 and '' mean "no sequence", as in Triton. */
  id?: SequenceId;
  start: boolean;
  end: boolean;
}

export interface SequenceStepRequest {
  model: string;
  version?: string;
  inputs: Tensor[];
  outputs?: string[];
  sequence?: SequenceFlags;
}

/**
 * Reads Triton's sequence parameters from a request's `parameters` (plain values: a protocol turns
 * its own parameter encoding into these first). Undefined when none is present.
 */
export function sequenceFlags(parameters: Record<string, unknown> | undefined): SequenceFlags | undefined {
  if (!parameters) return undefined;
  const { sequence_id: id, sequence_start: start, sequence_end: end } = parameters;
  if (id === undefined && start === undefined && end === undefined) return undefined;
  for (const [name, value] of [['sequence_start', start], ['sequence_end', end]] as const) {
    if (value !== undefined && typeof value !== 'boolean') throw errors.REQUEST_INVALID(`parameters.${name} must be a boolean, got ${describe(value)}`);
  }
  return { id: sequenceId(id), start: start === true, end: end === true };
}

function sequenceId(value: unknown): SequenceId | undefined {
  if (value === undefined || value === '' || value === 0 || value === 0n) return undefined;
  if (typeof value === 'string') {
    if (value.length > 256) throw errors.REQUEST_INVALID(`parameters.sequence_id is a string of ${value.length} characters; at most 256`);
    return value;
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value >= 2n ** 64n) throw errors.REQUEST_INVALID(`parameters.sequence_id must be an unsigned 64-bit integer or a string, got ${value}`);
    return value;
  }
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) {
    // Past 2^53 a JSON number has already lost digits: two clients' ids could have become one.
    if (!Number.isSafeInteger(value)) throw errors.REQUEST_INVALID(`parameters.sequence_id ${value} is above 2^53, where JSON numbers lose digits; send it as a string`);
    return BigInt(value);
  }
  throw errors.REQUEST_INVALID(`parameters.sequence_id must be an unsigned integer or a string, got ${describe(value)}`);
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : typeof value === 'bigint' ? String(value) : JSON.stringify(value) ?? String(value);
}

function display(id: SequenceId): string {
  return typeof id === 'string' ? `'${id}'` : String(id);
}

export class SequenceStore {
  /** Open sequences by model and id; the promise resolves once the session (and its lease) is open. */
  private readonly open = new Map<string, Promise<Session>>();
  /** Open sequences per model, for `sequence.max_sequences`. */
  private readonly perModel = new Map<string, number>();

  constructor(private readonly sessions: SessionService, private readonly maxSequences: (model: string) => number) {}

  /** One request of a sequence of a stateful model. */
  async step(request: SequenceStepRequest): Promise<StepResult> {
    const { model, sequence } = request;
    if (sequence?.id === undefined) {
      throw errors.SEQUENCE_ID_REQUIRED(`model '${model}' keeps state between requests: give parameters.sequence_id (an unsigned integer or a string) with sequence_start on its first request and sequence_end on its last`);
    }
    const key = `${model}\u0000${typeof sequence.id}:${sequence.id}`;
    let opening = this.open.get(key);
    if (!opening) {
      if (!sequence.start) {
        throw errors.SEQUENCE_UNKNOWN(`sequence ${display(sequence.id)} of model '${model}' is not open (never started, ended, or idle past its idle_timeout_s): send its first request with sequence_start`);
      }
      const limit = this.maxSequences(model);
      if ((this.perModel.get(model) ?? 0) >= limit) {
        throw errors.QUEUE_FULL(`model '${model}' holds ${limit} open sequences, its sequence.max_sequences: end finished ones with sequence_end, or retry once idle ones time out`, { headers: { 'retry-after': '1' } });
      }
      opening = this.sessions.open(model, request.version, () => this.forget(key, model, opening!));
      this.open.set(key, opening);
      this.perModel.set(model, (this.perModel.get(model) ?? 0) + 1);
    }
    // Taken out now, so a request after the last one finds no sequence (or starts a new one).
    if (sequence.end) this.forget(key, model, opening);
    let session: Session;
    try {
      session = await opening;
    } catch (err) {
      this.forget(key, model, opening);
      throw err;
    }
    // Closed under it: the server is shutting down (every session is closed then).
    if (session.closed) {
      this.forget(key, model, opening);
      throw errors.SEQUENCE_UNKNOWN(`sequence ${display(sequence.id)} of model '${model}' was closed: the server is shutting down`);
    }
    // Everything from here to step() is synchronous: requests of one sequence reach its session in arrival order.
    if (request.version !== undefined && request.version !== session.version) {
      throw errors.REQUEST_INVALID(`sequence ${display(sequence.id)} runs on version ${session.version} of model '${model}', not ${request.version}`);
    }
    const stepping = this.sessions.step(session, request.inputs, request.outputs, { reset: sequence.start });
    if (!sequence.end) return stepping;
    try {
      return await stepping;
    } finally {
      this.sessions.close(session);
    }
  }

  private forget(key: string, model: string, opening: Promise<Session>): void {
    if (this.open.get(key) !== opening) return;
    this.open.delete(key);
    this.perModel.set(model, this.perModel.get(model)! - 1);
  }
}
