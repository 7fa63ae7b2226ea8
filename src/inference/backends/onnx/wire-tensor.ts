/** A tensor as it crosses the thread boundary: onnxruntime's type name, dims and flat data. */
export interface WireTensor {
  name: string;
  type: string;
  dims: number[];
  data: ArrayBufferView & { length: number } | string[];
}
