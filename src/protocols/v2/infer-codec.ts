/**
 * Turns an infer request body (JSON, or JSON header + binary tensors) into Forja tensors, and
 * inference results back into a v2 response (JSON, or JSON header + binary outputs).
 */
import type { Tensor } from '../../inference/types.js';
import { errors } from '../../errors.js';
import { parseJsonBytes } from '../../http/json-body.js';
import { inferRequestSchema } from './schemas.js';
import { decodeJsonData, toJsonOutput } from './json-tensors.js';
import { decodeBinaryData, encodeBinaryData } from './binary-tensors.js';
import { sequenceFlags, type SequenceFlags } from '../../inference/sequences.js';

export const HEADER_LENGTH = 'inference-header-content-length';

export interface DecodedInfer {
  /** The request's `id`, echoed in the response. */
  id?: string;
  inputs: Tensor[];
  outputNames?: string[];
  /** Output names to send as binary data. */
  binaryOutputs: Set<string>;
  /** Triton's sequence parameters (`parameters.sequence_id`, `sequence_start`, `sequence_end`). */
  sequence?: SequenceFlags;
}

/** `viewBinary`: `raw` is the caller's for good, so binary tensors may view it rather than copy it. */
export function decodeInferRequest(raw: Buffer, headerLength: string | string[] | undefined, { viewBinary = false } = {}): DecodedInfer {
  let jsonPart = raw;
  let binary: Buffer | undefined;
  if (headerLength !== undefined) {
    const n = typeof headerLength === 'string' && /^\d+$/.test(headerLength) ? Number(headerLength) : NaN;
    if (!Number.isInteger(n) || n > raw.length) {
      throw errors.REQUEST_INVALID(`Inference-Header-Content-Length must be an integer between 0 and the body length (${raw.length}), got '${headerLength}'`);
    }
    jsonPart = raw.subarray(0, n);
    binary = raw.subarray(n);
  }
  const parsed = parseJsonBytes(jsonPart);
  // Tensor data is set aside while the schema checks the rest: zod would copy every element.
  const data = takeTensorData(parsed);
  const result = inferRequestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw errors.REQUEST_INVALID(`invalid infer request: ${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  const body = result.data;
  const sequence = sequenceFlags(body.parameters);
  let offset = 0;
  const inputs = body.inputs.map((input, index): Tensor => {
    const size = input.parameters?.binary_data_size;
    if (size !== undefined) {
      if (!binary) throw errors.REQUEST_INVALID(`input '${input.name}' has binary_data_size but the request has no Inference-Header-Content-Length header`);
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || offset + size > binary.length) {
        throw errors.REQUEST_INVALID(`input '${input.name}': binary_data_size ${JSON.stringify(size)} does not fit the ${binary.length - offset} bytes of binary data left`);
      }
      const data = decodeBinaryData(input.name, input.datatype, input.shape, binary.subarray(offset, offset + size), { view: viewBinary });
      offset += size;
      return { name: input.name, datatype: input.datatype, shape: input.shape, data };
    }
    const values = data[index];
    if (!values) throw errors.REQUEST_INVALID(`input '${input.name}' has no data (give 'data' or parameters.binary_data_size)`);
    return { name: input.name, datatype: input.datatype, shape: input.shape, data: decodeJsonData(input.name, input.datatype, input.shape, values) };
  });
  if (binary && offset !== binary.length) throw errors.REQUEST_INVALID(`${binary.length - offset} bytes of binary data were not claimed by any input's binary_data_size`);

  const allBinary = body.parameters?.binary_data_output === true;
  const binaryOutputs = new Set<string>();
  const outputNames = body.outputs?.map((o) => {
    const wanted = o.parameters?.binary_data;
    if (wanted === true || (wanted === undefined && allBinary)) binaryOutputs.add(o.name);
    return o.name;
  });
  return { id: body.id, inputs, outputNames, binaryOutputs: allBinary && !outputNames ? new Set(['*']) : binaryOutputs, sequence };
}

/** Replaces each input's `data` array with an empty one and returns the arrays by input index. */
function takeTensorData(parsed: unknown): (unknown[] | undefined)[] {
  const inputs = (parsed as { inputs?: unknown } | null)?.inputs;
  if (!Array.isArray(inputs)) return [];
  return inputs.map((input: unknown) => {
    const holder = input as { data?: unknown } | null;
    if (typeof holder !== 'object' || holder === null || !Array.isArray(holder.data)) return undefined;
    const values = holder.data as unknown[];
    holder.data = [];
    return values;
  });
}

export interface EncodedResponse {
  payload: string | Buffer;
  headerLength?: number;
}

export function encodeInferResponse(modelName: string, version: string, id: string | undefined, outputs: Tensor[], binaryOutputs: Set<string>): EncodedResponse {
  const blobs: Buffer[] = [];
  const jsonOutputs = outputs.map((tensor) => {
    if (binaryOutputs.has('*') || binaryOutputs.has(tensor.name)) {
      const blob = encodeBinaryData(tensor);
      blobs.push(blob);
      return { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, parameters: { binary_data_size: blob.length } };
    }
    return toJsonOutput(tensor);
  });
  const header = JSON.stringify({ model_name: modelName, model_version: version, ...(id !== undefined ? { id } : {}), outputs: jsonOutputs });
  if (blobs.length === 0) return { payload: header };
  const headerBuffer = Buffer.from(header, 'utf8');
  return { payload: Buffer.concat([headerBuffer, ...blobs]), headerLength: headerBuffer.length };
}
