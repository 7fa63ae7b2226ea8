/**
 * The availability contract: /v2/health/live and /v2/health/ready answer within 100 ms while any
 * single request is in flight. Each v2 route gets the largest body it accepts while a poller times
 * the health probes. Also: an infer body bigger than the model can take is refused from its
 * Content-Length with 413, naming the limit and the setting behind it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel, writeIdentityModel } from '../helpers/onnx-models.js';

const BODY_LIMIT = 32 * 1024 * 1024;
/**
 * The contract names 100 ms. On a shared, overloaded test machine an idle server's probes alone can
 * take longer, so the bound is generous: the larger of 2 s and five times the slowest probe of an
 * idle period measured just before. A request parsed on the event loop blocks it for seconds at
 * this size (7 s measured before parsing moved to a worker), which exceeds both.
 */
const HEALTH_BOUND_MS = 2000;
const IDLE_FACTOR = 5;

describe('health under the largest requests', () => {
  let repo: TempRepo;
  let server: ServerProcess;
  // Probes on their own connection, so they never queue behind a large upload on the same socket.
  const probes = new Agent({ connections: 1 });

  before(async () => {
    repo = tempRepo();
    writeAddModel(repo.versionPath('add', '1'));
    // A dynamic non-batch dimension: only server.body_limit_bytes bounds its requests.
    writeIdentityModel(repo.versionPath('wide', '1'), 'FP32', { shape: ['batch', 'width'] });
    server = await startServer(['--models', repo.dir], { env: { FORJA_SERVER__BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
  });
  after(async () => {
    await probes.close();
    assert.equal(await server.stop(), 0);
    repo.remove();
  });

  /** Runs `work` while polling both health routes back to back; resolves with the slowest probe. */
  async function worstHealthDuring(work: () => Promise<void>): Promise<{ worstMs: number; probes: number }> {
    let done = false;
    let worstMs = 0;
    let count = 0;
    const poll = (async () => {
      for (let i = 0; !done; i++) {
        const started = performance.now();
        const res = await fetch(`${server.url}/v2/health/${i % 2 ? 'ready' : 'live'}`, { dispatcher: probes } as RequestInit);
        await res.arrayBuffer();
        assert.equal(res.status, 200);
        worstMs = Math.max(worstMs, performance.now() - started);
        count++;
      }
    })();
    try {
      await work();
    } finally {
      done = true;
      await poll;
    }
    return { worstMs, probes: count };
  }

  /** The largest JSON infer body under the limit: short values make the most elements per byte. */
  function largestJsonBody(): Buffer {
    const prefix = '{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,WIDTH],"data":[';
    const suffix = ']}]}';
    const width = Math.floor((BODY_LIMIT - prefix.length - suffix.length - 16) / 2);
    const values = Buffer.alloc(width * 2 - 1, '1,');
    return Buffer.concat([Buffer.from(prefix.replace('WIDTH', String(width))), values, Buffer.from(suffix)]);
  }

  function largestBinaryBody(): { body: Buffer; headerLength: number } {
    const make = (width: number) => Buffer.from(JSON.stringify({
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, width], parameters: { binary_data_size: width * 4 } }],
      parameters: { binary_data_output: true },
    }));
    const width = Math.floor((BODY_LIMIT - 1024) / 4);
    const header = make(width);
    const data = new Float32Array(width).fill(0.25);
    return { body: Buffer.concat([header, Buffer.from(data.buffer)]), headerLength: header.length };
  }

  const post = async (path: string, body: Buffer, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': 'application/json', ...headers } });
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
  };

  type Reply = { status: number; bytes: Buffer };
  // Bodies are built before and replies checked after the timed window: the test process's own
  // work must not count as the server's latency.
  const cases: { route: string; prepare: () => () => Promise<Reply>; check: (res: Reply) => void }[] = [
    {
      route: 'JSON infer at server.body_limit_bytes',
      prepare: () => {
        const body = largestJsonBody();
        return () => post('/v2/models/wide/infer', body);
      },
      check: (res) => {
        assert.equal(res.status, 200, res.bytes.subarray(0, 300).toString());
        const json = JSON.parse(res.bytes.toString('utf8')) as { outputs: { shape: number[]; data: number[] }[] };
        assert.equal(json.outputs[0].data.length, json.outputs[0].shape[1]);
      },
    },
    {
      route: 'binary infer at server.body_limit_bytes',
      prepare: () => {
        const { body, headerLength } = largestBinaryBody();
        return () => post('/v2/models/wide/versions/1/infer', body, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) });
      },
      check: (res) => assert.equal(res.status, 200, res.bytes.subarray(0, 300).toString()),
    },
    {
      route: 'repository index at its 64 KiB limit',
      prepare: () => {
        const body = Buffer.from(`{"ready":true,"pad":"${'x'.repeat(64 * 1024 - 40)}"}`);
        return () => post('/v2/repository/index', body);
      },
      check: (res) => assert.equal(res.status, 200, res.bytes.toString()),
    },
  ];
  for (const c of cases) {
    it(`health answers promptly during a ${c.route}`, async () => {
      const send = c.prepare();
      const idle = await worstHealthDuring(() => new Promise((resolve) => setTimeout(resolve, 1500)));
      const bound = Math.max(HEALTH_BOUND_MS, IDLE_FACTOR * idle.worstMs);
      let reply: Reply | undefined;
      const { worstMs, probes: count } = await worstHealthDuring(async () => { reply = await send(); });
      c.check(reply!);
      assert.ok(count > 0, 'the poller ran');
      assert.ok(worstMs < bound, `slowest health probe took ${worstMs.toFixed(1)} ms (${count} probes); bound ${bound.toFixed(0)} ms, idle worst ${idle.worstMs.toFixed(1)} ms`);
      process.stdout.write(`# ${c.route}: slowest health probe ${worstMs.toFixed(1)} ms over ${count} probes (idle: ${idle.worstMs.toFixed(1)} ms)\n`);
    });
  }

  it('refuses an infer body bigger than the model can take from its Content-Length, naming the limit', async () => {
    // add takes [batch, 4] twice with max_batch_size 32: 256 values, so a few hundred KiB is far too much.
    const rows = 20_000;
    const body = Buffer.from(JSON.stringify({ inputs: ['A', 'B'].map((name) => ({ name, datatype: 'FP32', shape: [rows, 4], data: new Array(rows * 4).fill(1) })) }));
    await post('/v2/models/add/infer', Buffer.from(JSON.stringify({ inputs: ['A', 'B'].map((name) => ({ name, datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] })) })));
    const res = await post('/v2/models/add/infer', body);
    assert.equal(res.status, 413);
    const error = (JSON.parse(res.bytes.toString()) as { error: string }).error;
    assert.match(error, /larger than the limit of \d+ bytes \(model 'add' takes at most 256 values per request \(max_batch_size 32\)/);
    assert.match(error, /max_batch_size \(model\.yaml or models\.max_batch_size\)/);
    const tooBigForServer = await post('/v2/models/wide/infer', Buffer.alloc(BODY_LIMIT + 1, ' '));
    assert.equal(tooBigForServer.status, 413);
    assert.match((JSON.parse(tooBigForServer.bytes.toString()) as { error: string }).error, /server\.body_limit_bytes/);
  });
});
