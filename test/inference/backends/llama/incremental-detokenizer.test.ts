/**
 * Streaming text from tokens with a real tokenizer: deltas add up to the whole detokenized text,
 * leading spaces kept, and characters split over byte tokens come out whole.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { getLlama } from 'node-llama-cpp';
import { IncrementalDetokenizer } from '../../../../src/inference/backends/llama/incremental-detokenizer.js';
import { writeTinyLlamaGguf } from '../../../helpers/gguf-writer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'forja-detok-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('deltas add up to the text, multi-byte characters included', async () => {
  const llama = await getLlama({ gpu: false, build: 'never' });
  const model = await llama.loadModel({ modelPath: writeTinyLlamaGguf(path.join(dir, 't.gguf')) });
  try {
    const prompt = Array.from(model.tokenize('say'));
    const text = ' the cat said ü日本 and hello';
    const tokens = Array.from(model.tokenize(text)).slice(0);
    const detok = new IncrementalDetokenizer((t) => model.detokenize(Array.from(t) as never), prompt);
    const deltas = tokens.map((t) => detok.push(t));
    deltas.push(detok.flush());
    assert.equal(deltas.join(''), model.detokenize([...prompt, ...tokens] as never).slice(model.detokenize(prompt as never).length));
    assert.ok(deltas.every((d) => !d.includes('\uFFFD')));
    // "日" is three byte tokens in this vocabulary: two of them yield nothing, the third the character.
    assert.ok(deltas.includes('日'));
  } finally {
    await model.dispose();
  }
});
