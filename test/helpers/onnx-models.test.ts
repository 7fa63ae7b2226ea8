/** The model builders produce files the real onnxruntime-node loads and runs as described. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  SUPPORTED_IDENTITY_DATATYPES, V2_TO_ONNX_ELEM_TYPE, writeAddModel, writeCorruptModel, writeFixedBatchModel,
  writeIdentityModel, writeMlpModel, writeOnnxModel, type AddDatatype, type IdentityDatatype, type MlpOptions,
} from './onnx-models.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx-models-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
const modelPath = (name: string) => join(dir, `${fileCount++}-${name}.onnx`);

/** Loads a model, runs one feed, and releases the session. */
async function runOnce(path: string, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(path);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

const f32 = (data: number[], dims: number[]) => new ort.Tensor('float32', Float32Array.from(data), dims);

test('add model computes SUM and DIFF for batch 1 and batch 3', async () => {
  const path = modelPath('add');
  writeAddModel(path);
  for (const batch of [1, 3]) {
    const a = Array.from({ length: batch * 4 }, (_, i) => i);
    const b = Array.from({ length: batch * 4 }, (_, i) => 10 * i + 0.5);
    const out = await runOnce(path, { A: f32(a, [batch, 4]), B: f32(b, [batch, 4]) });
    assert.deepEqual(out.SUM.dims, [batch, 4]);
    assert.deepEqual(Array.from(out.SUM.data as Float32Array), a.map((x, i) => x + b[i]));
    assert.deepEqual(Array.from(out.DIFF.data as Float32Array), a.map((x, i) => x - b[i]));
  }
});

test('add model reports its named dynamic batch dimension', async () => {
  const path = modelPath('add-wide');
  writeAddModel(path, { width: 7 });
  const session = await ort.InferenceSession.create(path);
  try {
    assert.deepEqual(session.inputNames, ['A', 'B']);
    assert.deepEqual(session.outputNames, ['SUM', 'DIFF']);
    for (const meta of [...session.inputMetadata, ...session.outputMetadata]) {
      assert.ok(meta.isTensor);
      assert.equal(meta.type, 'float32');
      assert.deepEqual(meta.shape, ['batch', 7]);
    }
  } finally {
    await session.release();
  }
});

// Exact IEEE half bits for small positive integers, so FP16 sums can be checked as numbers.
const intToHalf = (n: number) => { const e = Math.floor(Math.log2(n)); return ((e + 15) << 10) | ((n / 2 ** e - 1) * 1024); };
const halfToNumber = (h: number) => (1 + (h & 0x3ff) / 1024) * 2 ** (((h >> 10) & 0x1f) - 15);

const ADD_CASES: Record<AddDatatype, [ort.Tensor.Type, (n: number[]) => ort.Tensor['data']]> = {
  UINT8: ['uint8', (n) => Uint8Array.from(n)],
  UINT16: ['uint16', (n) => Uint16Array.from(n)],
  UINT32: ['uint32', (n) => Uint32Array.from(n)],
  UINT64: ['uint64', (n) => BigUint64Array.from(n, BigInt)],
  INT8: ['int8', (n) => Int8Array.from(n)],
  INT16: ['int16', (n) => Int16Array.from(n)],
  INT32: ['int32', (n) => Int32Array.from(n)],
  INT64: ['int64', (n) => BigInt64Array.from(n, BigInt)],
  FP16: ['float16', (n) => Uint16Array.from(n, intToHalf)],
  FP32: ['float32', (n) => Float32Array.from(n)],
  FP64: ['float64', (n) => Float64Array.from(n)],
};

for (const [datatype, [type, make]] of Object.entries(ADD_CASES) as [AddDatatype, (typeof ADD_CASES)[AddDatatype]][]) {
  test(`add model computes SUM and DIFF in ${datatype}`, async () => {
    const path = modelPath(`add-${datatype}`);
    writeAddModel(path, { datatype });
    const out = await runOnce(path, {
      A: new ort.Tensor(type, make([5, 6, 7, 8]), [1, 4]),
      B: new ort.Tensor(type, make([1, 2, 3, 4]), [1, 4]),
    });
    const values = (t: ort.Tensor) =>
      Array.from(t.data as ArrayLike<number | bigint>, (v) => (datatype === 'FP16' ? halfToNumber(Number(v)) : Number(v)));
    assert.equal(out.SUM.type, type);
    assert.deepEqual(values(out.SUM), [6, 8, 10, 12]);
    assert.deepEqual(values(out.DIFF), [4, 4, 4, 4]);
  });
}

/** Six sample elements (shape [2, 3]) per datatype, including edge values. */
const SAMPLES: Record<IdentityDatatype, { type: ort.Tensor.Type; data: ort.Tensor['data'] }> = {
  BOOL: { type: 'bool', data: Uint8Array.from([1, 0, 1, 0, 0, 1]) },
  UINT8: { type: 'uint8', data: Uint8Array.from([0, 1, 2, 127, 128, 255]) },
  UINT16: { type: 'uint16', data: Uint16Array.from([0, 1, 2, 300, 32768, 65535]) },
  UINT32: { type: 'uint32', data: Uint32Array.from([0, 1, 2, 70000, 2 ** 31, 2 ** 32 - 1]) },
  UINT64: { type: 'uint64', data: BigUint64Array.from([0n, 1n, 2n, 2n ** 40n, 2n ** 63n, 2n ** 64n - 1n]) },
  INT8: { type: 'int8', data: Int8Array.from([-128, -1, 0, 1, 2, 127]) },
  INT16: { type: 'int16', data: Int16Array.from([-32768, -1, 0, 1, 300, 32767]) },
  INT32: { type: 'int32', data: Int32Array.from([-(2 ** 31), -1, 0, 1, 70000, 2 ** 31 - 1]) },
  INT64: { type: 'int64', data: BigInt64Array.from([-(2n ** 63n), -1n, 0n, 1n, 2n ** 40n, 2n ** 63n - 1n]) },
  // IEEE half bits: 1.0, -2.0, 0.5, 65504 (max), +inf, -0.
  FP16: { type: 'float16', data: Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0x8000]) },
  FP32: { type: 'float32', data: Float32Array.from([-1.5, 0, 0.25, 3.4e38, -Infinity, 1e-30]) },
  FP64: { type: 'float64', data: Float64Array.from([-1.5, 0, 0.1, 1.7e308, Infinity, 5e-324]) },
  BYTES: { type: 'string', data: ['', 'a', 'hello world', 'héllo ✓', 'x'.repeat(300), '0'] },
};

for (const datatype of SUPPORTED_IDENTITY_DATATYPES) {
  test(`identity model round-trips ${datatype}`, async () => {
    const path = modelPath(`identity-${datatype}`);
    writeIdentityModel(path, datatype);
    const { type, data } = SAMPLES[datatype];
    const session = await ort.InferenceSession.create(path);
    try {
      const meta = session.inputMetadata[0];
      assert.ok(meta.isTensor);
      assert.equal(meta.type, type);
      assert.deepEqual(meta.shape, ['batch', 3]);
      const out = (await session.run({ INPUT0: new ort.Tensor(type, data, [2, 3]) })).OUTPUT0;
      assert.equal(out.type, type);
      assert.deepEqual(out.dims, [2, 3]);
      assert.deepEqual(Array.from(out.data as ArrayLike<unknown>), Array.from(data as ArrayLike<unknown>));
    } finally {
      await session.release();
    }
  });
}

test('identity model honours a custom shape', async () => {
  const path = modelPath('identity-shape');
  writeIdentityModel(path, 'INT32', { shape: [2, 'n', 2] });
  const session = await ort.InferenceSession.create(path);
  try {
    assert.deepEqual((session.inputMetadata[0] as { shape: readonly (number | string)[] }).shape, [2, 'n', 2]);
    const out = await session.run({ INPUT0: new ort.Tensor('int32', Int32Array.from([1, 2, 3, 4]), [2, 1, 2]) });
    assert.deepEqual(out.OUTPUT0.dims, [2, 1, 2]);
  } finally {
    await session.release();
  }
});

test('writeOnnxModel encodes int, float, string and ints attributes and INT64 / BYTES initializers', async () => {
  const path = modelPath('attributes');
  writeOnnxModel(path, {
    inputs: [{ name: 'X', datatype: 'FP32', shape: [2, 3] }],
    outputs: [{ name: 'Y', datatype: 'FP32', shape: [1, 8] }, { name: 'WORDS', datatype: 'BYTES', shape: [2] }],
    initializers: [
      { name: 'pads', datatype: 'INT64', dims: [4], data: BigInt64Array.from([0n, 0n, 1n, 0n]) },
      { name: 'words', datatype: 'BYTES', dims: [2], data: ['ab', 'ç'] },
    ],
    nodes: [
      { op: 'Transpose', inputs: ['X'], outputs: ['T'], attributes: { perm: { ints: [1, 0] } } },
      { op: 'LeakyRelu', inputs: ['T'], outputs: ['L'], attributes: { alpha: { float: 0.5 } } },
      { op: 'Pad', inputs: ['L', 'pads'], outputs: ['P'], attributes: { mode: { string: 'constant' } } },
      { op: 'Flatten', inputs: ['P'], outputs: ['Y'], attributes: { axis: { int: 0 } } },
      { op: 'Identity', inputs: ['words'], outputs: ['WORDS'] },
    ],
  });
  const out = await runOnce(path, { X: f32([1, -2, 3, -4, 5, -6], [2, 3]) });
  // Transposed to [3, 2], negatives halved, a zero row appended, flattened to one row.
  assert.deepEqual(Array.from(out.Y.data as Float32Array), [1, -2, -1, 5, 3, -3, 0, 0]);
  assert.deepEqual(out.WORDS.data, ['ab', 'ç']);
});

test('V2_TO_ONNX_ELEM_TYPE matches the ONNX DataType numbers', () => {
  assert.equal(V2_TO_ONNX_ELEM_TYPE.FP32, 1);
  assert.equal(V2_TO_ONNX_ELEM_TYPE.BYTES, 8);
  assert.equal(V2_TO_ONNX_ELEM_TYPE.BOOL, 9);
  assert.equal(V2_TO_ONNX_ELEM_TYPE.FP16, 10);
  assert.equal(V2_TO_ONNX_ELEM_TYPE.UINT64, 13);
});

async function mlpOutput(opts: MlpOptions, x: Float32Array, batch: number): Promise<ort.Tensor> {
  const path = modelPath('mlp');
  writeMlpModel(path, opts);
  return (await runOnce(path, { x: new ort.Tensor('float32', x, [batch, x.length / batch]) })).y;
}

const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i));

test('MLP gives [batch, outputs], is deterministic per seed, and differs across seeds', async () => {
  const x = ramp(5 * 64);
  const first = await mlpOutput({ seed: 7 }, x, 5);
  const again = await mlpOutput({ seed: 7 }, x, 5);
  const other = await mlpOutput({ seed: 8 }, x, 5);
  assert.deepEqual(first.dims, [5, 10]);
  assert.deepEqual(Array.from(again.data as Float32Array), Array.from(first.data as Float32Array));
  assert.notDeepEqual(Array.from(other.data as Float32Array), Array.from(first.data as Float32Array));
  assert.ok((first.data as Float32Array).every(Number.isFinite));
});

test('a wide MLP gives each row the same result batched or alone', async () => {
  const opts = { inputs: 32, hidden: 1024, outputs: 3, seed: 42 };
  const x = ramp(4 * 32);
  const batched = (await mlpOutput(opts, x, 4)).data as Float32Array;
  assert.equal(batched.length, 4 * 3);
  const alone = (await mlpOutput(opts, x.slice(32, 64), 1)).data as Float32Array;
  alone.forEach((v, i) => assert.ok(Math.abs(v - batched[3 + i]) < 1e-4, `row 1, column ${i}`));
});

test('fixed-batch model reports [1, 4], runs batch 1 and rejects batch 2', async () => {
  const path = modelPath('fixed');
  writeFixedBatchModel(path);
  const session = await ort.InferenceSession.create(path);
  try {
    assert.deepEqual((session.inputMetadata[0] as { shape: readonly (number | string)[] }).shape, [1, 4]);
    const ok = await session.run({ A: f32([1, 2, 3, 4], [1, 4]), B: f32([1, 1, 1, 1], [1, 4]) });
    assert.deepEqual(Array.from(ok.SUM.data as Float32Array), [2, 3, 4, 5]);
    const two = Array.from({ length: 8 }, () => 1);
    await assert.rejects(session.run({ A: f32(two, [2, 4]), B: f32(two, [2, 4]) }));
  } finally {
    await session.release();
  }
});

test('corrupt model fails to load', async () => {
  const path = modelPath('corrupt');
  writeCorruptModel(path);
  await assert.rejects(ort.InferenceSession.create(path));
});
