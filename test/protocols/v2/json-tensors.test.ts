import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJsonData, encodeJsonData } from '../../../src/protocols/v2/json-tensors.js';
import { floatToHalf, halfToFloat } from '../../../src/protocols/v2/half-float.js';
import { decodeBinaryData, encodeBinaryData } from '../../../src/protocols/v2/binary-tensors.js';
import { decodeInferRequest, encodeInferResponse } from '../../../src/protocols/v2/infer-codec.js';
import { DATATYPES, type Datatype, type Tensor } from '../../../src/inference/types.js';
import { ForjaError } from '../../../src/errors.js';

/** Asserts fn throws a ForjaError with this code whose message matches. */
function throwsForja(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof ForjaError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('JSON tensor data', () => {
  test('nested data flattens in row-major order', () => {
    const data = decodeJsonData('x', 'FP32', [2, 2, 2], [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
    assert.deepEqual(Array.from(data as Float32Array), [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test('data nested 100,000 deep is walked without recursion (callers inside the process skip the HTTP depth bound)', () => {
    let deep: unknown[] = [1];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.deepEqual(Array.from(decodeJsonData('x', 'FP32', [1], deep) as Float32Array), [1]);
    throwsForja(() => decodeJsonData('x', 'FP32', [2], deep), 'FORJA_ERR_TENSOR_SHAPE', /needs 2 elements, got 1/);
  });

  test('arrays and values mixed at any level are refused', () => {
    throwsForja(() => decodeJsonData('x', 'FP32', [2, 2], [[1, 2], [3, [4]]]), 'FORJA_ERR_TENSOR_INVALID', /mixes nested arrays and values/);
  });

  test('a length mismatch names what the shape needs and what came', () => {
    throwsForja(() => decodeJsonData('pixels', 'FP32', [2, 3], [1, 2, 3, 4]), 'FORJA_ERR_TENSOR_SHAPE', /'pixels'.*needs 6 elements, got 4/);
  });

  // [datatype, a valid element, a wrong one]
  const wrongTypes: Array<[Datatype, unknown, unknown]> = [
    ['FP32', 1, 'one'], ['FP16', 1, true], ['INT32', 1, 1.5], ['INT64', 1, '7'], ['UINT64', 1, -1], ['BOOL', true, 1], ['BYTES', 'ok', 3],
  ];
  for (const [datatype, good, wrong] of wrongTypes) {
    test(`${datatype} rejects ${JSON.stringify(wrong)}, naming the input`, () => {
      throwsForja(() => decodeJsonData('in0', datatype, [2], [good, wrong]), 'FORJA_ERR_TENSOR_DATATYPE', /input 'in0' .*element 1/);
    });
  }

  test('integer ranges are enforced per datatype', () => {
    throwsForja(() => decodeJsonData('a', 'INT8', [1], [200]), 'FORJA_ERR_TENSOR_DATATYPE', /-128\.\.127/);
    throwsForja(() => decodeJsonData('a', 'UINT8', [1], [-1]), 'FORJA_ERR_TENSOR_DATATYPE', /0\.\.255/);
    throwsForja(() => decodeJsonData('a', 'INT64', [1], [1e19]), 'FORJA_ERR_TENSOR_DATATYPE', /'a'/);
    assert.deepEqual(Array.from(decodeJsonData('a', 'INT8', [2], [-128, 127]) as Int8Array), [-128, 127]);
  });

  test('INT64 becomes a BigInt64Array, BOOL booleans and BYTES strings', () => {
    const ints = decodeJsonData('i', 'INT64', [3], [-5, 0, 2 ** 53]);
    assert.ok(ints instanceof BigInt64Array);
    assert.deepEqual(Array.from(ints), [-5n, 0n, 2n ** 53n]);
    const bools = decodeJsonData('b', 'BOOL', [3], [true, false, true]);
    assert.deepEqual(encodeJsonData({ name: 'b', datatype: 'BOOL', shape: [3], data: bools }), [true, false, true]);
    assert.deepEqual(decodeJsonData('s', 'BYTES', [2], ['héllo', '']), ['héllo', '']);
  });

  test('FP16 round-trips within half precision, Infinity and NaN included', () => {
    for (const value of [1, -2.5, 65504, 0.1, -0.000061035, Infinity, -Infinity]) {
      const back = halfToFloat(floatToHalf(value));
      if (!Number.isFinite(value)) assert.equal(back, value);
      else assert.ok(Math.abs(back - value) <= Math.abs(value) * 2 ** -11, `${value} came back as ${back}`);
    }
    assert.equal(halfToFloat(floatToHalf(1)), 1);
    assert.equal(halfToFloat(floatToHalf(65504)), 65504);
    assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
    const half = decodeJsonData('h', 'FP16', [2], [-2.5, 0.1]);
    assert.ok(half instanceof Uint16Array);
    assert.deepEqual(encodeJsonData({ name: 'h', datatype: 'FP16', shape: [2], data: half }), [-2.5, halfToFloat(floatToHalf(0.1))]);
  });
});

describe('binary tensor data', () => {
  const samples: Record<Datatype, unknown[]> = {
    BOOL: [true, false, true], UINT8: [0, 255, 7], UINT16: [0, 65535, 9], UINT32: [0, 4294967295, 1], UINT64: [0, 2 ** 40, 3],
    INT8: [-128, 127, 0], INT16: [-32768, 32767, 1], INT32: [-2147483648, 2147483647, 2], INT64: [-(2 ** 40), 2 ** 40, 5],
    FP16: [1, -2.5, 65504], FP32: [0.5, -1e30, 3], FP64: [Math.PI, -1e300, 0], BYTES: ['a', '', 'ünïcode'],
  };
  for (const datatype of DATATYPES) {
    test(`${datatype} survives encode and decode from a misaligned buffer`, () => {
      const tensor: Tensor = { name: 't', datatype, shape: [3], data: decodeJsonData('t', datatype, [3], samples[datatype]) };
      const bytes = encodeBinaryData(tensor);
      const misaligned = Buffer.concat([Buffer.from([0xee]), bytes]).subarray(1);
      const decoded = decodeBinaryData('t', datatype, [3], misaligned);
      assert.deepEqual(encodeJsonData({ ...tensor, data: decoded }), encodeJsonData(tensor));
    });
  }

  test('BYTES elements are 4-byte little-endian lengths followed by the bytes', () => {
    const bytes = encodeBinaryData({ name: 's', datatype: 'BYTES', shape: [2], data: ['ab', 'é'] });
    assert.deepEqual([...bytes], [2, 0, 0, 0, 0x61, 0x62, 2, 0, 0, 0, 0xc3, 0xa9]);
    throwsForja(() => decodeBinaryData('s', 'BYTES', [2], bytes.subarray(0, 11)), 'FORJA_ERR_TENSOR_INVALID', /runs past/);
    throwsForja(() => decodeBinaryData('s', 'BYTES', [2], bytes.subarray(0, 8)), 'FORJA_ERR_TENSOR_INVALID', /truncated/);
  });

  test('a byte count that does not fit the shape is refused', () => {
    throwsForja(() => decodeBinaryData('f', 'FP32', [2], Buffer.alloc(7)), 'FORJA_ERR_TENSOR_SHAPE', /needs 8 bytes.*got 7/);
  });
});

describe('infer request and response bodies', () => {
  const header = (inputs: unknown[], extra: object = {}) => Buffer.from(JSON.stringify({ inputs, ...extra }));
  const fp32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

  test('Inference-Header-Content-Length splits the JSON header from the binary inputs', () => {
    const json = header([
      { name: 'a', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } },
      { name: 'b', datatype: 'INT32', shape: [1], data: [7] },
      { name: 'c', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 6 } },
    ]);
    const raw = Buffer.concat([json, fp32([1.5, -2]), Buffer.from([2, 0, 0, 0, 0x68, 0x69])]);
    const { inputs } = decodeInferRequest(raw, String(json.length));
    assert.deepEqual(inputs.map((t) => encodeJsonData(t)), [[1.5, -2], [7], ['hi']]);
  });

  for (const bad of ['abc', '-1', '1.5', '', '0x10', '100000']) {
    test(`a header length of ${JSON.stringify(bad)} is refused`, () => {
      const raw = header([{ name: 'a', datatype: 'INT32', shape: [1], data: [1] }]);
      throwsForja(() => decodeInferRequest(raw, bad), 'FORJA_ERR_REQUEST_INVALID', /Inference-Header-Content-Length/);
    });
  }

  test('binary bytes that no input claims are refused', () => {
    const json = header([{ name: 'a', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } }]);
    throwsForja(() => decodeInferRequest(Buffer.concat([json, fp32([1, 2])]), String(json.length)), 'FORJA_ERR_REQUEST_INVALID', /4 bytes .*not claimed/);
  });

  test('a binary_data_size larger than the bytes left is refused', () => {
    const json = header([{ name: 'a', datatype: 'FP32', shape: [4], parameters: { binary_data_size: 16 } }]);
    throwsForja(() => decodeInferRequest(Buffer.concat([json, fp32([1])]), String(json.length)), 'FORJA_ERR_REQUEST_INVALID', /'a'.*binary_data_size 16/);
  });

  test('binary_data_output true sends outputs after a JSON header of the stated length', () => {
    const { binaryOutputs } = decodeInferRequest(header([{ name: 'a', datatype: 'INT32', shape: [1], data: [1] }], { parameters: { binary_data_output: true } }), undefined);
    const outputs: Tensor[] = [
      { name: 'y', datatype: 'FP32', shape: [2], data: new Float32Array([0.25, 4]) },
      { name: 'z', datatype: 'BYTES', shape: [1], data: ['ok'] },
    ];
    const { payload, headerLength } = encodeInferResponse('m', '1', 'req-1', outputs, binaryOutputs);
    assert.ok(Buffer.isBuffer(payload) && headerLength !== undefined);
    const json = JSON.parse(payload.subarray(0, headerLength).toString('utf8'));
    assert.equal(json.model_name, 'm');
    assert.equal(json.id, 'req-1');
    assert.deepEqual(json.outputs.map((o: { parameters: { binary_data_size: number } }) => o.parameters.binary_data_size), [8, 6]);
    assert.ok(json.outputs.every((o: { data?: unknown }) => o.data === undefined));
    const blob = payload.subarray(headerLength);
    assert.deepEqual(Array.from(decodeBinaryData('y', 'FP32', [2], blob.subarray(0, 8)) as Float32Array), [0.25, 4]);
    assert.deepEqual(decodeBinaryData('z', 'BYTES', [1], blob.subarray(8)), ['ok']);
  });

  test('without binary outputs the response is plain JSON', () => {
    const { payload, headerLength } = encodeInferResponse('m', '2', undefined, [{ name: 'y', datatype: 'INT64', shape: [1], data: new BigInt64Array([3n]) }], new Set());
    assert.equal(headerLength, undefined);
    assert.deepEqual(JSON.parse(String(payload)).outputs, [{ name: 'y', datatype: 'INT64', shape: [1], data: [3] }]);
  });
});
