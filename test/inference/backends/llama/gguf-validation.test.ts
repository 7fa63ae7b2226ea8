/**
 * Files that would make llama.cpp abort the process are refused in JavaScript with a reason, and
 * the process survives to load a good file afterwards.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ForjaError } from '../../../../src/errors.js';
import { createLlamaLoader, validateGguf } from '../../../../src/inference/backends/llama/index.js';
import { encodeGguf, tinyLlama, writeTinyLlamaGguf, writeTinyMambaGguf } from '../../../helpers/gguf-writer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'forja-gguf-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const loader = createLlamaLoader({ registry: new Registry(), logger: pino({ level: 'silent' }) });
const file = (name: string) => path.join(dir, name);

async function refused(p: string, reason: RegExp): Promise<void> {
  const llama = await loader.runtime();
  await assert.rejects(validateGguf(p, llama), (err: unknown) => {
    assert.ok(err instanceof ForjaError);
    assert.equal(err.code, 'FORJA_ERR_MODEL_UNAVAILABLE');
    assert.match(err.message, reason);
    return true;
  });
  // The loader refuses it the same way, without handing it to llama.cpp.
  await assert.rejects(loader.load({ name: 'bad', version: '1', path: p, format: 'gguf', config: { threads: 1 } }, { preferGpu: false }), reason);
}

test('a good llama file and a good mamba file pass, with their architecture and weight size', async () => {
  const llama = await loader.runtime();
  const l = await validateGguf(writeTinyLlamaGguf(file('ok.gguf')), llama);
  assert.equal(l.architecture, 'llama');
  assert.ok(l.weightBytes > 0 && l.weightBytes < l.fileBytes);
  const m = await validateGguf(writeTinyMambaGguf(file('mamba.gguf')), llama);
  assert.equal(m.architecture, 'mamba');
});

test('a missing feed_forward_length (llama.cpp aborts on it) is refused', async () => {
  await refused(writeTinyLlamaGguf(file('no-ff.gguf'), { omitKeys: ['llama.feed_forward_length'] }), /llama\.feed_forward_length/);
});

test('a truncated file is refused', async () => {
  const whole = readFileSync(writeTinyLlamaGguf(file('whole.gguf')));
  writeFileSync(file('cut-data.gguf'), whole.subarray(0, whole.length - 1000));
  await refused(file('cut-data.gguf'), /truncated/);
  writeFileSync(file('cut-header.gguf'), whole.subarray(0, 300));
  await refused(file('cut-header.gguf'), /unreadable|truncated|header/);
});

test('not a GGUF at all, or an empty file, is refused', async () => {
  writeFileSync(file('junk.gguf'), Buffer.from('this is not a model file at all'.repeat(10)));
  await refused(file('junk.gguf'), /unreadable/);
  writeFileSync(file('empty.gguf'), Buffer.alloc(0));
  await refused(file('empty.gguf'), /unreadable/);
});

test('a vocabulary with a duplicate token (llama.cpp asserts) is refused', async () => {
  const { kv, tensors } = tinyLlama();
  const tokens = kv['tokenizer.ggml.tokens'].value as string[];
  tokens[tokens.length - 1] = tokens[tokens.length - 2];
  writeFileSync(file('dup.gguf'), encodeGguf(kv, tensors));
  await refused(file('dup.gguf'), /duplicate token/);
});

test('an architecture llama.cpp does not know is refused', async () => {
  const { kv, tensors } = tinyLlama();
  kv['general.architecture'] = { type: 'string', value: 'not-a-real-arch' };
  writeFileSync(file('arch.gguf'), encodeGguf(kv, tensors));
  await refused(file('arch.gguf'), /not supported|missing hyperparameters/);
});

test('after all that, the process is alive and loads a good model', async () => {
  const model = await loader.load({ name: 'ok', version: '1', path: file('ok.gguf'), format: 'gguf', config: { threads: 1, context_size: 64, parallel: 1 } }, { preferGpu: false });
  assert.equal(model.kind, 'llm');
  await model.unload();
});
