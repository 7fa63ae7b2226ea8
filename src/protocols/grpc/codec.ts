/**
 * ModelInferRequest / ModelInferResponse (decoded by proto-loader with keepCase, 64-bit integers as
 * strings) <-> Forja tensors. Tensor data comes either typed, in the `contents` field that matches
 * the datatype, or raw in `raw_input_contents` (one entry per input, little-endian, BYTES elements
 * each prefixed with a 4-byte length: the same layout as the binary tensor extension). FP16 has no
 * typed field, so it travels raw only. Messages read like the REST ones for the same mistake.
 */
import type { Datatype, Tensor, TensorData } from '../../inference/types.js';
import { DATATYPE_INFO, DATATYPES, elementCount, isDatatype } from '../../inference/datatypes.js';
import { errors } from '../../errors.js';
import { decodeBinaryData, encodeBinaryData } from '../v2/binary-tensors.js';
import { sequenceFlags, type SequenceFlags } from '../../inference/sequences.js';

type ContentsField = 'bool_contents' | 'int_contents' | 'int64_contents' | 'uint_contents' | 'uint64_contents' | 'fp32_contents' | 'fp64_contents' | 'bytes_contents';
type Contents = Partial<Record<ContentsField, unknown[]>>;

interface InferParameter { parameter_choice?: string; [value: string]: unknown }

export interface GrpcInferInput {
  name: string;
  datatype: string;
  shape: string[];
  parameters?: Record<string, InferParameter>;
  contents: Contents | null;
}

export interface GrpcInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, InferParameter>;
  inputs: GrpcInferInput[];
  outputs: Array<{ name: string; parameters?: Record<string, InferParameter> }>;
  raw_input_contents: Buffer[];
}

export const CONTENTS_FIELD: Record<Datatype, ContentsField | undefined> = {
  BOOL: 'bool_contents', INT8: 'int_contents', INT16: 'int_contents', INT32: 'int_contents', INT64: 'int64_contents',
  UINT8: 'uint_contents', UINT16: 'uint_contents', UINT32: 'uint_contents', UINT64: 'uint64_contents',
  FP16: undefined, FP32: 'fp32_contents', FP64: 'fp64_contents', BYTES: 'bytes_contents',
};

export interface DecodedGrpcInfer {
  model: string;
  version?: string;
  id: string;
  inputs: Tensor[];
  outputNames?: string[];
  /** Answer with raw_output_contents (the request was raw, or an output has no typed field). */
  raw: boolean;
  /** Triton's sequence parameters (`sequence_id` as uint64_param, int64_param or string_param; `sequence_start`, `sequence_end` as bool_param). */
  sequence?: SequenceFlags;
}

export function decodeInferRequest(req: GrpcInferRequest): DecodedGrpcInfer {
  if (!req.model_name) throw errors.REQUEST_INVALID('invalid infer request: model_name: required');
  if (req.inputs.length === 0) throw errors.REQUEST_INVALID('invalid infer request: inputs: at least one input is required');
  const raw = req.raw_input_contents;
  if (raw.length > 0 && raw.length !== req.inputs.length) {
    throw errors.REQUEST_INVALID(`raw_input_contents has ${raw.length} entries for ${req.inputs.length} inputs; give one per input, in the order of inputs`);
  }
  const inputs = req.inputs.map((input, i): Tensor => {
    const where = `invalid infer request: inputs.${i}`;
    if (!input.name) throw errors.REQUEST_INVALID(`${where}.name: required`);
    if (!isDatatype(input.datatype)) {
      throw errors.REQUEST_INVALID(`${where}.datatype: unknown datatype '${input.datatype}' (expected one of ${DATATYPES.join(', ')})`);
    }
    const datatype = input.datatype as Datatype;
    const shape = input.shape.map((d, j) => {
      const n = Number(d);
      if (!Number.isInteger(n) || n < 0 || n > 2 ** 31) throw errors.REQUEST_INVALID(`${where}.shape.${j}: must be an integer between 0 and 2^31, got ${d}`);
      return n;
    });
    const filled = filledFields(input.contents);
    if (raw.length > 0) {
      if (filled.length > 0) throw errors.REQUEST_INVALID(`input '${input.name}' has contents while the request uses raw_input_contents; use one or the other for all inputs`);
      return { name: input.name, datatype, shape, data: decodeBinaryData(input.name, datatype, shape, raw[i]) };
    }
    return { name: input.name, datatype, shape, data: decodeContents(input.name, datatype, shape, input.contents ?? {}, filled) };
  });
  const outputNames = req.outputs.length > 0 ? req.outputs.map((o, i) => {
    if (!o.name) throw errors.REQUEST_INVALID(`invalid infer request: outputs.${i}.name: required`);
    return o.name;
  }) : undefined;
  return { model: req.model_name, version: req.model_version || undefined, id: req.id, inputs, outputNames, raw: raw.length > 0, sequence: sequenceFlags(plainParameters(req.parameters)) };
}

/** Each InferParameter as the value its oneof holds (64-bit integers as bigints), as REST's JSON would carry it. */
function plainParameters(parameters: Record<string, InferParameter> | undefined): Record<string, unknown> | undefined {
  if (!parameters) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(parameters)) {
    const choice = p.parameter_choice;
    if (choice === undefined) continue;
    const value = p[choice];
    out[name] = choice === 'int64_param' || choice === 'uint64_param' ? BigInt(value as string) : value;
  }
  return out;
}

function filledFields(contents: Contents | null): ContentsField[] {
  if (!contents) return [];
  return (Object.keys(contents) as ContentsField[]).filter((k) => Array.isArray(contents[k]) && contents[k]!.length > 0);
}

function decodeContents(name: string, datatype: Datatype, shape: number[], contents: Contents, filled: ContentsField[]): TensorData {
  const field = CONTENTS_FIELD[datatype];
  if (!field) throw errors.REQUEST_INVALID(`input '${name}': ${datatype} has no typed contents field; send its data in raw_input_contents`);
  const expected = elementCount(shape);
  const other = filled.find((f) => f !== field);
  if (other) throw errors.TENSOR_DATATYPE(`input '${name}' (${datatype}): values belong in contents.${field}, got contents.${other}`);
  const values = (contents[field] ?? []) as unknown[];
  if (values.length === 0 && expected > 0) throw errors.REQUEST_INVALID(`input '${name}' has no data (give contents.${field} or raw_input_contents)`);
  if (values.length !== expected) throw errors.TENSOR_SHAPE(`input '${name}': shape [${shape}] needs ${expected} elements, got ${values.length}`);
  switch (datatype) {
    case 'BOOL': return Uint8Array.from(values as boolean[], (v) => (v ? 1 : 0));
    case 'FP32': return Float32Array.from(values as number[]);
    case 'FP64': return Float64Array.from(values as number[]);
    case 'INT64': return BigInt64Array.from(values as string[], (v) => BigInt(v));
    case 'UINT64': return BigUint64Array.from(values as string[], (v) => BigInt(v));
    case 'BYTES': return (values as Buffer[]).map((b) => Buffer.from(b).toString('utf8'));
    default: {
      const { array, range } = DATATYPE_INFO[datatype];
      const out = new array(values.length) as Int32Array;
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as number;
        // int_contents is int32 and uint_contents uint32 on the wire: narrower types are checked here.
        if (range && (v < range.min || v >= range.below)) throw errors.TENSOR_DATATYPE(`input '${name}' (${datatype}): element ${i} is ${v}, expected an integer in ${range.text}`);
        out[i] = v;
      }
      return out;
    }
  }
}

export function encodeInferResponse(model: string, version: string, id: string, outputs: Tensor[], raw: boolean): Record<string, unknown> {
  const useRaw = raw || outputs.some((t) => CONTENTS_FIELD[t.datatype] === undefined);
  return {
    model_name: model,
    model_version: version,
    id,
    outputs: outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, ...(useRaw ? {} : { contents: { [CONTENTS_FIELD[t.datatype]!]: typedValues(t) } }) })),
    raw_output_contents: useRaw ? outputs.map(encodeBinaryData) : [],
  };
}

function typedValues(tensor: Tensor): unknown[] {
  const { data, datatype } = tensor;
  if (Array.isArray(data)) return data.map((s) => Buffer.from(s, 'utf8'));
  if (datatype === 'BOOL') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, String);
  return Array.from(data as Float32Array);
}
