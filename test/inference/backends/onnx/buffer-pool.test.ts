/** The input buffers a model's session threads reuse: what comes back is handed out again, within bounds. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../../../src/inference/backends/onnx/buffer-pool.js';
import { SessionThread } from '../../../../src/inference/backends/onnx/session-thread.js';
import { tempRepo, type TempRepo } from '../../../helpers/model-repo.js';
import { writeAddModel } from '../../../helpers/onnx-models.js';

let repo: TempRepo;
before(() => {
  repo = tempRepo();
  writeAddModel(repo.versionPath('wide', '1'), { width: 4096 });
});
after(() => repo.remove());

test('a buffer given back is handed out again for a request of a neighbouring size', () => {
  const pool = new BufferPool();
  const first = pool.take(100_000);
  assert.equal(first.byteLength, 131_072, 'capacities are powers of two');
  assert.ok(pool.owns(first));
  pool.give([first]);
  assert.equal(pool.take(120_000), first);
  assert.notEqual(pool.take(120_000), first, 'a buffer is handed out once');
});

test('the pool keeps a few buffers and bounded bytes, and ignores sizes it would never hand out', () => {
  const pool = new BufferPool();
  pool.give(Array.from({ length: 20 }, () => new ArrayBuffer(65_536)));
  assert.equal(pool.size, 8);
  pool.give([new ArrayBuffer(64 * 1024 * 1024)]);
  assert.ok(pool.size <= 8);
  const odd = new BufferPool();
  odd.give([new ArrayBuffer(100_000)]);
  assert.equal(odd.size, 0, 'not a capacity the pool hands out');
});

test('a session thread computes on inputs that view part of a larger buffer, and its input buffers come back', async () => {
  const pool = new BufferPool();
  const thread = new SessionThread(pool);
  try {
    await thread.load(repo.versionPath('wide', '1'), { intraOpNumThreads: 1 });
    const width = 4096;
    // Views at an offset into a larger buffer, as a body's binary tensors are: never moved, copied into a pool buffer.
    const body = new ArrayBuffer(8 + 2 * width * 4);
    const a = new Float32Array(body, 8, width).fill(2);
    const b = new Float32Array(body, 8 + width * 4, width).fill(3);
    const feeds = [{ name: 'A', type: 'float32', dims: [1, width], data: a }, { name: 'B', type: 'float32', dims: [1, width], data: b }];
    const [sum] = await thread.run(feeds, ['SUM'], true);
    assert.deepEqual(Array.from((sum.data as Float32Array).subarray(0, 3)), [5, 5, 5]);
    assert.equal(a[0], 2, 'the caller\'s views were left alone');
    assert.equal(pool.size, 2, 'both input buffers came back to the pool');
    const again = await thread.run(feeds, ['SUM'], true);
    assert.equal((again[0].data as Float32Array)[width - 1], 5);
    assert.equal(pool.size, 2, 'the second run reused them');
  } finally {
    await thread.release();
  }
});
