/**
 * Shapes a model cannot run are the client's mistake: the PP-OCR direction classifier accepts
 * [-1, 3, -1, -1], but an empty batch or zero-sized image cannot run. Those are 400 with
 * onnxruntime's reason, on a worker thread and inline alike, and onnxruntime prints nothing of its
 * own: its failures reach the JSON log through pino.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { startServer, SHARED_MODELS, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';

const PPOCR_CLS = path.join(SHARED_MODELS, 'onnx/ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const present = existsSync(PPOCR_CLS);

describe('onnxruntime failures caused by the request', { skip: !present && `no shared models at ${SHARED_MODELS}` }, () => {
  let repo: TempRepo;
  let server: ServerProcess;

  before(async () => {
    repo = tempRepo();
    copyFileSync(PPOCR_CLS, repo.versionPath('cls_worker', '1'));
    repo.modelYaml('cls_worker', 'execution: worker\n');
    copyFileSync(PPOCR_CLS, repo.versionPath('cls_inline', '1'));
    repo.modelYaml('cls_inline', 'execution: inline\n');
    server = await startServer(['--models', repo.dir], { env: { FORJA_LOG__LEVEL: 'info' } });
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
    repo.remove();
  });

  const infer = async (model: string, shape: number[]) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const res = await fetch(`${server.url}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', shape, datatype: 'FP32', data: new Array(count).fill(0.5) }] }),
    });
    return { status: res.status, body: await res.json() as { error?: string; outputs?: { shape: number[] }[] } };
  };

  for (const model of ['cls_worker', 'cls_inline']) {
    it(`${model}: an empty batch [0,3,48,192] is 400 at the boundary`, async () => {
      const { status, body } = await infer(model, [0, 3, 48, 192]);
      assert.equal(status, 400, JSON.stringify(body));
      assert.match(body.error!, /batch dimension .* needs at least 1 row/);
    });

    it(`${model}: a zero-sized image [1,3,0,0] is 400 with onnxruntime's reason`, async () => {
      const { status, body } = await infer(model, [1, 3, 0, 0]);
      assert.equal(status, 400, JSON.stringify(body));
      assert.match(body.error!, /cannot run input 'x' \[1,3,0,0\]: its Conv node '[^']+' failed: Invalid input shape/);
    });

    it(`${model}: still answers a good request afterwards`, async () => {
      const { status, body } = await infer(model, [1, 3, 48, 192]);
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(body.outputs![0].shape, [1, 2]);
    });
  }

  it('logs the failures through pino with their code, and onnxruntime prints no line of its own', () => {
    const output = server.output();
    assert.doesNotMatch(output, /onnxruntime:|sequential_executor/);
    const lines = output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; code?: string; model?: string });
    const failures = lines.filter((l) => l.msg === 'onnxruntime cannot run the request');
    assert.deepEqual(failures.map((l) => [l.model, l.code]).sort(), [['cls_inline', 'FORJA_ERR_TENSOR_SHAPE'], ['cls_worker', 'FORJA_ERR_TENSOR_SHAPE']]);
  });
});
