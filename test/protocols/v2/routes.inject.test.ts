/**
 * The v2 plugin on its own Fastify instance, driven with app.inject() (no socket): the same real
 * model manager, onnxruntime session and codecs as `forja serve`, without a process around them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { startV2App, type V2App } from '../../helpers/v2-app.js';

describe('v2 routes through app.inject()', () => {
  let server: V2App;
  let app: FastifyInstance;
  let ready = false;

  before(async () => {
    server = await startV2App({ isReady: () => ready });
    ({ app } = server);
    ready = true;
  });
  after(() => server.close());

  const infer = (payload: string) => app.inject({ method: 'POST', url: '/v2/models/add/infer', headers: { 'content-type': 'application/json' }, payload });
  const request = (rows: number) => JSON.stringify({ id: 'r1', inputs: ['A', 'B'].map((name) => ({ name, datatype: 'FP32', shape: [rows, 4], data: new Array(rows * 4).fill(1) })) });

  it('answers health, server metadata and model metadata', async () => {
    assert.deepEqual((await app.inject('/v2/health/live')).json(), { live: true });
    assert.deepEqual((await app.inject('/v2/health/ready')).json(), { ready: true });
    assert.ok((await app.inject('/v2')).json().extensions.includes('binary_tensor_data'));
    const meta = (await app.inject('/v2/models/add')).json() as { inputs: { name: string; shape: number[] }[] };
    assert.deepEqual(meta.inputs.map((i) => [i.name, i.shape]), [['A', [-1, 4]], ['B', [-1, 4]]]);
  });

  it('runs an infer request and echoes its id', async () => {
    const res = await infer(request(2));
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { id: string; outputs: { name: string; data: number[] }[] };
    assert.equal(body.id, 'r1');
    assert.deepEqual(body.outputs.find((o) => o.name === 'SUM')!.data, new Array(8).fill(2));
  });

  it('refuses deep JSON, and a body bigger than the model takes, with their codes', async () => {
    const deep = await infer(`{"inputs":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    assert.equal(deep.statusCode, 400);
    assert.match(deep.body, /deeper than 128 levels/);
    const big = await infer(request(20_000));
    assert.equal(big.statusCode, 413);
    assert.match(big.body, /max_batch_size 32/);
  });

  it('gives a shape the model cannot take 400 FORJA_ERR_TENSOR_SHAPE', async () => {
    const res = await infer(JSON.stringify({ inputs: ['A', 'B'].map((name) => ({ name, datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] })) }));
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /FORJA_ERR_TENSOR_SHAPE|expects \[-1,4\]/);
  });
});
