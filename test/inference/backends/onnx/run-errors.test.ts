/** Which onnxruntime run failures are the request's fault, from failures a real session produces. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { runFailure } from '../../../../src/inference/backends/onnx/run-errors.js';
import { SHARED_MODELS } from '../../../helpers/server-process.js';

const PPOCR_CLS = path.join(SHARED_MODELS, 'onnx/ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx');

async function failureOf(session: ort.InferenceSession, shape: number[]): Promise<unknown> {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  return session.run({ x: new ort.Tensor('float32', data, shape) }).then(() => assert.fail(`[${shape}] ran`), (err: unknown) => err);
}

test('a shape a Reshape cannot take is FORJA_ERR_TENSOR_SHAPE with the reason, without C++ locations', { skip: !existsSync(PPOCR_CLS) && 'no shared models' }, async () => {
  const session = await ort.InferenceSession.create(PPOCR_CLS, { logSeverityLevel: 4 });
  try {
    const reshape = runFailure(await failureOf(session, [0, 3, 48, 192]), [{ name: 'x', shape: [0, 3, 48, 192] }]);
    assert.equal(reshape.code, 'FORJA_ERR_TENSOR_SHAPE');
    assert.match(reshape.message, /^the model cannot run input 'x' \[0,3,48,192\]: its Reshape node '[^']+' failed: /);
    assert.match(reshape.message, /cannot be reshaped to the requested shape/);
    assert.doesNotMatch(reshape.message, /onnxruntime_src|\.h:\d+/);
    const conv = runFailure(await failureOf(session, [1, 3, 0, 0]), [{ name: 'x', shape: [1, 3, 0, 0] }]);
    assert.equal(conv.code, 'FORJA_ERR_TENSOR_SHAPE');
    assert.match(conv.message, /its Conv node '[^']+' failed: Invalid input shape/);
  } finally {
    await session.release();
  }
});

test('failures that are not the request\'s stay FORJA_ERR_INFERENCE_FAILED', () => {
  assert.equal(runFailure(new Error('session thread exited with code 1'), []).code, 'FORJA_ERR_INFERENCE_FAILED');
  const oom = "Non-zero status code returned while running MatMul node. Name:'m' Status Message: Failed to allocate memory for requested buffer of size 1099511627776";
  assert.equal(runFailure(new Error(oom), []).code, 'FORJA_ERR_INFERENCE_FAILED');
});
