/** Real published models, when ../shared/models is present: mnist-8 and the PP-OCR direction classifier. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, SHARED_MODELS, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';

const MNIST = path.join(SHARED_MODELS, 'onnx/mnist-8.onnx');
const PPOCR_CLS = path.join(SHARED_MODELS, 'onnx/ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const present = existsSync(MNIST) && existsSync(PPOCR_CLS);

let repo: TempRepo;
let server: ServerProcess;

before(async () => {
  if (!present) return;
  repo = tempRepo();
  // A throw-away copy in a temp directory: the repository skips symlinks that leave it.
  mkdirSync(path.join(repo.dir, 'mnist', '1'), { recursive: true });
  mkdirSync(path.join(repo.dir, 'ppocr_cls', '1'), { recursive: true });
  copyFileSync(MNIST, path.join(repo.dir, 'mnist', '1', 'model.onnx'));
  copyFileSync(PPOCR_CLS, path.join(repo.dir, 'ppocr_cls', '1', 'model.onnx'));
  server = await startServer(['--models', repo.dir]);
});

after(async () => {
  if (!present) return;
  assert.equal(await server.stop(), 0);
  repo.remove();
});

async function infer(model: string, body: unknown): Promise<any> {
  const res = await fetch(`${server.url}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

test('mnist-8 classifies a drawn vertical bar as 1', { skip: !present && `no shared models at ${SHARED_MODELS}` }, async () => {
  const image = new Array(28 * 28).fill(0);
  for (let row = 4; row < 24; row++) for (let col = 13; col <= 14; col++) image[row * 28 + col] = 255;
  const json = await infer('mnist', { inputs: [{ name: 'Input3', shape: [1, 1, 28, 28], datatype: 'FP32', data: image }] });
  const logits: number[] = json.outputs[0].data;
  assert.equal(logits.indexOf(Math.max(...logits)), 1);
});

test('the PP-OCR classifier has a dynamic batch and answers a batch of 3 with 3 probability rows', { skip: !present && `no shared models at ${SHARED_MODELS}` }, async () => {
  const meta = await (await fetch(`${server.url}/v2/models/ppocr_cls`)).json() as any;
  assert.deepEqual(meta.inputs[0].shape, [-1, 3, -1, -1]);
  const n = 3 * 3 * 48 * 192;
  const data = Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5);
  const json = await infer('ppocr_cls', { inputs: [{ name: 'x', shape: [3, 3, 48, 192], datatype: 'FP32', data }] });
  const out = json.outputs[0];
  assert.deepEqual(out.shape, [3, 2]);
  for (let r = 0; r < 3; r++) assert.ok(Math.abs(out.data[2 * r] + out.data[2 * r + 1] - 1) < 1e-4, 'softmax rows sum to 1');
});
