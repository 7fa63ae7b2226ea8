/**
 * The Ollama routes sit behind the same API keys, scopes and body limits as every other route,
 * and a prompt that cannot fit the context is refused as on the OpenAI routes: the real server,
 * the official `ollama` client.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Ollama } from 'ollama';
import { startServer, type ServerProcess } from '../../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../../helpers/model-repo.js';
import { writeTinyLlamaGguf } from '../../helpers/gguf-writer.js';

const INFER_KEY = 'ollama-infer-0123456789';
const JOBS_KEY = 'ollama-jobs-0123456789';

let repo: TempRepo;
let server: ServerProcess;

before(async () => {
  repo = tempRepo('forja-ollama-limits-');
  writeTinyLlamaGguf(path.join(repo.dir, 'tiny.gguf'));
  server = await startServer(['--models', repo.dir], { env: { FORJA_API_KEYS: `app:${INFER_KEY}:infer,etl:${JOBS_KEY}:jobs` } });
});

after(async () => {
  assert.equal(await server.stop(), 0);
  repo.remove();
});

const client = (key?: string) => new Ollama({ host: server.url, headers: key ? { Authorization: `Bearer ${key}` } : undefined });

test('an infer key is needed: none is 401, a jobs key 403, an infer key is served', async () => {
  await assert.rejects(client().list(), { name: 'ResponseError', status_code: 401 });
  await assert.rejects(client(JOBS_KEY).chat({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }] }), { name: 'ResponseError', status_code: 403 });
  assert.deepEqual((await client(INFER_KEY).list()).models.map((m) => m.name), ['tiny:latest']);
  const answer = await client(INFER_KEY).generate({ model: 'tiny', prompt: 'hi', raw: true, options: { num_predict: 2 } });
  assert.equal(answer.done, true);
});

test('a body over the LLM body limit is 413; a prompt that cannot fit the context is 400 before it is tokenized', async () => {
  // Refused from its Content-Length, before the body is sent.
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${server.url}/api/generate`, { method: 'POST', headers: { authorization: `Bearer ${INFER_KEY}`, 'content-type': 'application/json', 'content-length': String(5 * 1024 * 1024) } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: text }); req.destroy(); });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
  assert.equal(status, 413);
  assert.equal((JSON.parse(body) as { code: string }).code, 'FORJA_ERR_REQUEST_TOO_LARGE');
  await assert.rejects(
    client(INFER_KEY).generate({ model: 'tiny', prompt: 'word '.repeat(200_000), raw: true }),
    { name: 'ResponseError', status_code: 400, message: /maximum context length is \d+ tokens.*bytes\) takes at least/ },
  );
});
