/**
 * Writes small, real ONNX model files at test time, so no binary models live in the repository.
 * Models are encoded with protobufjs from a hand-written subset of onnx.proto (field numbers as in
 * the ONNX spec); onnxruntime reads them like any exported model.
 */
import { writeFileSync } from 'node:fs';
import protobuf from 'protobufjs';

/** The part of onnx.proto these builders need. Unlisted fields are simply never written. */
const ONNX_SUBSET = `
syntax = "proto3";
package onnx;
message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
  string domain = 7;
}
message AttributeProto {
  string name = 1;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  repeated int64 ints = 8;
  int32 type = 20;
}
message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated bytes string_data = 6;
  string name = 8;
  bytes raw_data = 9;
}
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  Tensor tensor_type = 1;
}
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
  repeated Dimension dim = 1;
}
`;

// keepCase: the objects below use the proto's snake_case field names.
const ModelProto = protobuf.parse(ONNX_SUBSET, { keepCase: true }).root.lookupType('onnx.ModelProto');

/** ONNX TensorProto.DataType for each v2 datatype (BF16 has no onnxruntime-node tensor type). */
export const V2_TO_ONNX_ELEM_TYPE = {
  FP32: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, BYTES: 8,
  BOOL: 9, FP16: 10, FP64: 11, UINT32: 12, UINT64: 13, BF16: 16,
} as const;
export type V2Datatype = keyof typeof V2_TO_ONNX_ELEM_TYPE;

/** Datatypes an Identity model of this module round-trips through onnxruntime-node. */
export const SUPPORTED_IDENTITY_DATATYPES = [
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES',
] as const satisfies readonly V2Datatype[];
export type IdentityDatatype = (typeof SUPPORTED_IDENTITY_DATATYPES)[number];

/** A dimension: a number is fixed, a string is a named dynamic dimension (dim_param). */
export type Dim = number | string;

export interface TensorInfo { name: string; datatype: V2Datatype; shape: Dim[] }

/** Attribute values, tagged because ONNX distinguishes ints from floats. */
export type AttributeValue = { int: number } | { float: number } | { string: string } | { ints: number[] };

export interface NodeDescription {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttributeValue>;
}

/** A constant tensor (weights). Numeric data goes to raw_data as-is: ONNX wants little-endian, as are the hosts we run on. */
export interface Initializer {
  name: string;
  datatype: V2Datatype;
  dims: number[];
  data: ArrayBufferView | string[];
}

export interface GraphDescription {
  name?: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  nodes: NodeDescription[];
  initializers?: Initializer[];
  /** Default opset of the ai.onnx domain; 17 is well within what onnxruntime 1.x runs. */
  opset?: number;
}

const IR_VERSION = 8;

function valueInfo(t: TensorInfo) {
  const dim = t.shape.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d }));
  return { name: t.name, type: { tensor_type: { elem_type: V2_TO_ONNX_ELEM_TYPE[t.datatype], shape: { dim } } } };
}

// AttributeProto.AttributeType numbers: FLOAT=1, INT=2, STRING=3, INTS=7.
function attribute(name: string, v: AttributeValue) {
  if ('int' in v) return { name, type: 2, i: v.int };
  if ('float' in v) return { name, type: 1, f: v.float };
  if ('string' in v) return { name, type: 3, s: Buffer.from(v.string) };
  return { name, type: 7, ints: v.ints };
}

function tensor(init: Initializer) {
  const base = { name: init.name, dims: init.dims, data_type: V2_TO_ONNX_ELEM_TYPE[init.datatype] };
  // Strings cannot go in raw_data; the spec requires string_data for them.
  if (Array.isArray(init.data)) return { ...base, string_data: init.data.map((s) => Buffer.from(s)) };
  const d = init.data;
  return { ...base, raw_data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
}

/** Encodes a graph description as an ONNX model and writes it to `path`. */
export function writeOnnxModel(path: string, g: GraphDescription): void {
  const model = {
    ir_version: IR_VERSION,
    producer_name: 'forja-tests',
    opset_import: [{ domain: '', version: g.opset ?? 17 }],
    graph: {
      name: g.name ?? 'graph',
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
      initializer: (g.initializers ?? []).map(tensor),
      node: g.nodes.map((n, i) => ({
        name: `${n.op}_${i}`,
        op_type: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attribute(k, v)),
      })),
    },
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`invalid ONNX model description: ${err}`);
  writeFileSync(path, ModelProto.encode(ModelProto.fromObject(model)).finish());
}

/** Numeric datatypes; onnxruntime's CPU Add and Sub run all of them (opset 17). */
export type AddDatatype = Exclude<IdentityDatatype, 'BOOL' | 'BYTES'>;

function writeSumDiff(path: string, batch: Dim, width: number, datatype: AddDatatype): void {
  const io = (name: string): TensorInfo => ({ name, datatype, shape: [batch, width] });
  writeOnnxModel(path, {
    name: 'add_sub',
    inputs: [io('A'), io('B')],
    outputs: [io('SUM'), io('DIFF')],
    nodes: [
      { op: 'Add', inputs: ['A', 'B'], outputs: ['SUM'] },
      { op: 'Sub', inputs: ['A', 'B'], outputs: ['DIFF'] },
    ],
  });
}

/** A, B [batch, width] -> SUM = A + B, DIFF = A - B; the batch dimension is dynamic ('batch'). */
export function writeAddModel(path: string, opts: { width?: number; datatype?: AddDatatype } = {}): void {
  writeSumDiff(path, 'batch', opts.width ?? 4, opts.datatype ?? 'FP32');
}

/** The add model with the batch dimension fixed at 1: A, B [1, 4]. */
export function writeFixedBatchModel(path: string): void {
  writeSumDiff(path, 1, 4, 'FP32');
}

/** INPUT0 -> Identity -> OUTPUT0 of one datatype; default shape ['batch', 3]. */
export function writeIdentityModel(path: string, datatype: IdentityDatatype, opts: { shape?: Dim[] } = {}): void {
  const shape = opts.shape ?? ['batch', 3];
  writeOnnxModel(path, {
    name: `identity_${datatype.toLowerCase()}`,
    inputs: [{ name: 'INPUT0', datatype, shape }],
    outputs: [{ name: 'OUTPUT0', datatype, shape }],
    nodes: [{ op: 'Identity', inputs: ['INPUT0'], outputs: ['OUTPUT0'] }],
  });
}

/** xorshift32: tiny, seedable, and the same on every platform, so weights are reproducible. */
function makeRandom(seed: number): () => number {
  let s = (seed >>> 0) || 0x9e3779b9; // xorshift must not start at 0
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000 * 2 - 1; // uniform in [-1, 1)
  };
}

export interface MlpOptions { inputs?: number; hidden?: number; outputs?: number; seed?: number }

/**
 * x [batch, inputs] -> MatMul+Add+Relu -> MatMul+Add -> y [batch, outputs], FP32, weights from `seed`.
 * Large hidden sizes (e.g. 1024) make per-request cost big enough that batching shows in benchmarks.
 */
export function writeMlpModel(path: string, opts: MlpOptions = {}): void {
  const { inputs = 64, hidden = 128, outputs = 10, seed = 1 } = opts;
  const random = makeRandom(seed);
  // Scale by 1/sqrt(fan_in) so activations stay near unit size at any width.
  const w = (name: string, dims: number[], fanIn: number): Initializer => {
    const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => random() / Math.sqrt(fanIn));
    return { name, datatype: 'FP32', dims, data };
  };
  writeOnnxModel(path, {
    name: 'mlp',
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', inputs] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', outputs] }],
    initializers: [
      w('W1', [inputs, hidden], inputs), w('b1', [hidden], inputs),
      w('W2', [hidden, outputs], hidden), w('b2', [outputs], hidden),
    ],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W1'], outputs: ['h0'] },
      { op: 'Add', inputs: ['h0', 'b1'], outputs: ['h1'] },
      { op: 'Relu', inputs: ['h1'], outputs: ['h'] },
      { op: 'MatMul', inputs: ['h', 'W2'], outputs: ['y0'] },
      { op: 'Add', inputs: ['y0', 'b2'], outputs: ['y'] },
    ],
  });
}

/** Bytes that are not a protobuf ModelProto (0xff starts a varint tag that never ends), so loading fails. */
export function writeCorruptModel(path: string): void {
  writeFileSync(path, Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from('not an onnx model\n')]));
}
