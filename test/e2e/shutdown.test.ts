/** SIGTERM and SIGINT drain in-flight requests, then the process exits 0. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel } from '../helpers/onnx-models.js';

let repo: TempRepo;

before(() => {
  repo = tempRepo();
  writeAddModel(repo.versionPath('slow', '1'));
  // The first request of a batch waits this long for company: long enough to signal mid-request.
  repo.modelYaml('slow', 'max_queue_delay_ms: 1500\n');
});

after(() => repo.remove());

const body = JSON.stringify({ inputs: [
  { name: 'A', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
  { name: 'B', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
] });

async function waitForQueued(url: string): Promise<void> {
  // Poll the queue-depth gauge: the request is inside the server once it is counted there.
  for (;;) {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    if (/forja_inference_queue_depth\{model="slow",version="1"\} 1/.test(metrics)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} lets the in-flight request finish, then exits 0`, async () => {
    const server = await startServer(['--models', repo.dir]);
    const inFlight = fetch(`${server.url}/v2/models/slow/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    await waitForQueued(server.url);
    const exit = server.stop(signal);
    const res = await inFlight;
    assert.equal(res.status, 200);
    const json = (await res.json()) as any;
    assert.deepEqual(json.outputs.find((o: any) => o.name === 'SUM').data, [2, 3, 4, 5]);
    assert.equal(await exit, 0);
    await assert.rejects(fetch(`${server.url}/v2/health/live`), 'no longer listening');
  });
}
