/**
 * The one datatype table: every fact about an Open Inference Protocol v2 datatype that the codecs,
 * the ONNX backend and warm-up need (element size, typed array, onnxruntime's name, integer range).
 */

/** Open Inference Protocol v2 datatypes. */
export const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type Datatype = (typeof DATATYPES)[number];
export type FixedSizeDatatype = Exclude<Datatype, 'BYTES'>;

export type TypedArray =
  | Float32Array | Float64Array | Uint16Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint32Array | BigUint64Array;

export interface TypedArrayConstructor {
  new (length: number): TypedArray;
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): TypedArray;
}

export interface DatatypeInfo {
  /** Bytes per element in memory and in the binary extension. */
  bytes: number;
  /** How Forja holds the data: BOOL as 0/1 bytes, FP16 as IEEE half bits. */
  array: TypedArrayConstructor;
  /** onnxruntime's tensor type name. */
  ort: string;
  /**
   * Integer types: allowed values are integers with min <= v < below (exclusive, because 2^63 - 1 is
   * not a double); `text` says it for error messages.
   */
  range?: { min: number; below: number; text: string };
}

export const DATATYPE_INFO: Readonly<Record<FixedSizeDatatype, DatatypeInfo>> = {
  BOOL: { bytes: 1, array: Uint8Array, ort: 'bool' },
  UINT8: { bytes: 1, array: Uint8Array, ort: 'uint8', range: { min: 0, below: 256, text: '0..255' } },
  UINT16: { bytes: 2, array: Uint16Array, ort: 'uint16', range: { min: 0, below: 65536, text: '0..65535' } },
  UINT32: { bytes: 4, array: Uint32Array, ort: 'uint32', range: { min: 0, below: 4294967296, text: '0..4294967295' } },
  UINT64: { bytes: 8, array: BigUint64Array, ort: 'uint64', range: { min: 0, below: 2 ** 64, text: '0..2^64-1' } },
  INT8: { bytes: 1, array: Int8Array, ort: 'int8', range: { min: -128, below: 128, text: '-128..127' } },
  INT16: { bytes: 2, array: Int16Array, ort: 'int16', range: { min: -32768, below: 32768, text: '-32768..32767' } },
  INT32: { bytes: 4, array: Int32Array, ort: 'int32', range: { min: -2147483648, below: 2147483648, text: '-2147483648..2147483647' } },
  INT64: { bytes: 8, array: BigInt64Array, ort: 'int64', range: { min: -(2 ** 63), below: 2 ** 63, text: '-2^63..2^63-1' } },
  FP16: { bytes: 2, array: Uint16Array, ort: 'float16' },
  FP32: { bytes: 4, array: Float32Array, ort: 'float32' },
  FP64: { bytes: 8, array: Float64Array, ort: 'float64' },
};

/** BYTES elements are strings of any length; onnxruntime calls them 'string'. */
export const BYTES_ORT_TYPE = 'string';

const BY_ORT = new Map<string, Datatype>([
  ...Object.entries(DATATYPE_INFO).map(([datatype, info]) => [info.ort, datatype as Datatype] as const),
  [BYTES_ORT_TYPE, 'BYTES'],
]);

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && (DATATYPES as readonly string[]).includes(value);
}

/** onnxruntime's type name for a datatype. */
export function ortTypeName(datatype: Datatype): string {
  return datatype === 'BYTES' ? BYTES_ORT_TYPE : DATATYPE_INFO[datatype].ort;
}

/** The datatype for an onnxruntime type name, or undefined when Forja has none. */
export function datatypeOfOrt(ortType: string): Datatype | undefined {
  return BY_ORT.get(ortType);
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
