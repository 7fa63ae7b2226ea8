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
import { encodeGguf, seededRandom, tinyLlama, writeTinyLlamaGguf, writeTinyMambaGguf } from '../../../helpers/gguf-writer.js';

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


async function refusedOrAccepted(p: string): Promise<'refused' | 'accepted'> {
  try {
    await validateGguf(p);
    return 'accepted';
  } catch (err) {
    assert.ok(err instanceof ForjaError, `not a ForjaError: ${String(err)}`);
    assert.equal(err.code, 'FORJA_ERR_MODEL_UNAVAILABLE');
    return 'refused';
  }
}

// node-llama-cpp's reader looped for ever (and grew memory) on about half of these: the timeout
// turns such a hang into a failure instead of a stuck test run.
test('random short tails after a valid magic and version are refused, every one, without hanging', { timeout: 120_000 }, async () => {
  const random = seededRandom(9);
  const p = file('tail.gguf');
  for (let i = 0; i < 2000; i++) {
    const tail = Buffer.alloc(Math.floor(random() * 64));
    for (let j = 0; j < tail.length; j++) tail[j] = Math.floor(random() * 256);
    writeFileSync(p, Buffer.concat([Buffer.from('GGUF'), Buffer.from([3, 0, 0, 0]), tail]));
    assert.equal(await refusedOrAccepted(p), 'refused', `tail ${i}: ${tail.toString('hex')}`);
  }
  writeFileSync(p, Buffer.from('GGUF\x03\x00\x00\x00garbage', 'latin1'));
  await refused(p, /unreadable header or metadata \(.*past the end of the file/);
});

test('a real header with random bytes changed is refused or accepted, never hangs or throws anything else', { timeout: 120_000 }, async () => {
  const whole = readFileSync(writeTinyLlamaGguf(file('fuzz-base.gguf')));
  const { tensors } = tinyLlama();
  const dataBytes = tensors.reduce((n, t) => n + t.data.byteLength, 0);
  const headerBytes = whole.length - dataBytes;
  const random = seededRandom(18);
  const p = file('fuzz.gguf');
  let refusedCount = 0;
  for (let i = 0; i < 500; i++) {
    const copy = Buffer.from(whole);
    for (let k = 0; k < 1 + Math.floor(random() * 4); k++) copy[8 + Math.floor(random() * (headerBytes - 8))] = Math.floor(random() * 256);
    writeFileSync(p, copy);
    if (await refusedOrAccepted(p) === 'refused') refusedCount++;
  }
  assert.ok(refusedCount > 0, 'some changes must break the header');
});

test('counts and lengths larger than the file are refused before anything is allocated', async () => {
  const header = (tensorCount: bigint, kvCount: bigint, rest: Buffer = Buffer.alloc(0)) => {
    const b = Buffer.alloc(24);
    b.write('GGUF', 0, 'latin1');
    b.writeUInt32LE(3, 4);
    b.writeBigUInt64LE(tensorCount, 8);
    b.writeBigUInt64LE(kvCount, 16);
    return Buffer.concat([b, rest]);
  };
  const p = file('counts.gguf');
  writeFileSync(p, header(2n ** 63n, 0n));
  await refused(p, /tensor count is \d+, more than the limit/);
  writeFileSync(p, header(1000n, 0n));
  await refused(p, /tensor count is 1000, more than the rest of the file can hold/);
  writeFileSync(p, header(0n, 10_000_000n));
  await refused(p, /key\/value count/);
  // A key whose string length claims 2^40 bytes (the padding leaves room for the one key/value).
  const key = Buffer.alloc(24);
  key.writeBigUInt64LE(2n ** 40n);
  writeFileSync(p, header(0n, 1n, key));
  await refused(p, /length of key 0/);
  // An array that claims 2^32 u32 elements in a file of a few bytes.
  const array = Buffer.alloc(8 + 1 + 4 + 4 + 8 + 16);
  array.writeBigUInt64LE(1n, 0);
  array.write('k', 8, 'latin1');
  array.writeUInt32LE(9, 9);
  array.writeUInt32LE(4, 13);
  array.writeBigUInt64LE(2n ** 32n, 17);
  writeFileSync(p, header(0n, 1n, array));
  await refused(p, /length of the array "k"/);
  writeFileSync(p, Buffer.concat([Buffer.from('GGUF'), Buffer.from([0, 0, 0, 3]), Buffer.alloc(16)]));
  await refused(p, /big-endian/);
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
