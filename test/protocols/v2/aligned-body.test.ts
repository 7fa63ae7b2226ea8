/**
 * Binary tensors are viewed in the infer body rather than copied out of it: the body parser places the
 * binary part on an 8-byte boundary whatever the JSON header's length, and the codec views it there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { alignmentPad } from '../../../src/protocols/v2/aligned-body.js';
import { decodeInferRequest } from '../../../src/protocols/v2/infer-codec.js';
import { startV2App, type V2App } from '../../helpers/v2-app.js';

function binaryBody(headerPadding: number, a: number[], b: number[]): { body: Buffer; headerLength: number } {
  const data = Buffer.from(new Float32Array([...a, ...b]).buffer);
  const inputs = [{ name: 'A', datatype: 'FP32', shape: [1, a.length], parameters: { binary_data_size: a.length * 4 } }, { name: 'B', datatype: 'FP32', shape: [1, b.length], parameters: { binary_data_size: b.length * 4 } }];
  // Spaces before the closing brace move where the binary part starts.
  const header = Buffer.from(JSON.stringify({ inputs }).slice(0, -1) + ' '.repeat(headerPadding) + '}');
  return { body: Buffer.concat([header, data]), headerLength: header.length };
}

describe('binary tensors in the body', () => {
  it('are views into a body the caller owns when aligned, and copies otherwise', () => {
    const { body, headerLength } = binaryBody(0, [1, 2, 3, 4], [5, 6, 7, 8]);
    const pad = alignmentPad(String(headerLength));
    assert.equal((pad + headerLength) % 8, 0);
    const placed = Buffer.from(new ArrayBuffer(pad + body.length), pad, body.length);
    body.copy(placed);
    const viewed = decodeInferRequest(placed, String(headerLength), { viewBinary: true });
    assert.equal((viewed.inputs[0].data as Float32Array).buffer, placed.buffer, 'viewed in place');
    assert.deepEqual(Array.from(viewed.inputs[1].data as Float32Array), [5, 6, 7, 8]);
    const copied = decodeInferRequest(placed, String(headerLength));
    assert.notEqual((copied.inputs[0].data as Float32Array).buffer, placed.buffer, 'copied unless the caller says the bytes are its own');
    const unaligned = Buffer.from(new ArrayBuffer(pad + 1 + body.length), pad + 1, body.length);
    body.copy(unaligned);
    const fallback = decodeInferRequest(unaligned, String(headerLength), { viewBinary: true });
    assert.notEqual((fallback.inputs[0].data as Float32Array).buffer, unaligned.buffer, 'an unaligned tensor is copied');
    assert.deepEqual(Array.from(fallback.inputs[0].data as Float32Array), [1, 2, 3, 4]);
  });

  describe('through the infer route', () => {
    let server: V2App;
    let app: FastifyInstance;
    before(async () => {
      server = await startV2App({ bodyLimit: 1024 * 1024 });
      ({ app } = server);
    });
    after(() => server.close());

    it('computes the same sums whatever the header length', async () => {
      for (let padding = 0; padding < 8; padding++) {
        const { body, headerLength } = binaryBody(padding, [1, 2, 3, 4], [10, 20, 30, 40]);
        const res = await app.inject({ method: 'POST', url: '/v2/models/add/infer', headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) }, payload: body });
        assert.equal(res.statusCode, 200, res.body);
        const sum = (res.json() as { outputs: { name: string; data: number[] }[] }).outputs.find((o) => o.name === 'SUM')!;
        assert.deepEqual(sum.data, [11, 22, 33, 44], `header of ${headerLength} bytes`);
      }
    });

    it('keeps a route\'s own body limit (the repository routes take 64 KiB)', async () => {
      const big = await app.inject({ method: 'POST', url: '/v2/repository/models/add/load', headers: { 'content-type': 'application/json' }, payload: Buffer.alloc(100 * 1024, 0x20) });
      assert.equal(big.statusCode, 413, big.body);
      assert.equal(big.json().code, 'FORJA_ERR_REQUEST_TOO_LARGE');
    });
  });
});
