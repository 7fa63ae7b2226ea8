/** The GGUF writer's files read back with node-llama-cpp's own GGUF parser. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { readGgufFileInfo } from 'node-llama-cpp';
import { writeTinyLlamaGguf, writeTinyMambaGguf } from './gguf-writer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'forja-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a tiny llama reads back with its hyperparameters, vocabulary and tensors in the file', async () => {
  const file = writeTinyLlamaGguf(path.join(dir, 'l.gguf'), { embedding: 16, layers: 3, heads: 2, kvHeads: 1, feedForward: 24, chatTemplate: 'T' });
  const info = await readGgufFileInfo(file, { logWarnings: false });
  assert.equal(info.version, 3);
  const meta = info.metadata as unknown as Record<string, Record<string, unknown>>;
  assert.equal(meta.general.architecture, 'llama');
  assert.equal((meta.llama as Record<string, unknown>).block_count, 3);
  assert.equal(((meta.tokenizer as Record<string, Record<string, unknown>>).ggml.tokens as string[]).includes('▁'), true);
  assert.equal((meta.tokenizer as Record<string, unknown>).chat_template, 'T');
  assert.equal(info.tensorInfo!.length, 3 + 3 * 9);
  const embd = info.tensorInfo!.find((t) => t.name === 'token_embd.weight')!;
  assert.equal(Number(embd.dimensions[0]), 16); // innermost first
  const last = info.tensorInfo!.at(-1)!;
  const bytes = last.dimensions.reduce<number>((a, d) => a * Number(d), 4);
  assert.ok(Number(last.fileOffset) + bytes <= statSync(file).size);
});

test('the same options write the same bytes (deterministic weights)', async () => {
  const a = writeTinyMambaGguf(path.join(dir, 'a.gguf'));
  const b = writeTinyMambaGguf(path.join(dir, 'b.gguf'));
  const { readFileSync } = await import('node:fs');
  assert.ok(readFileSync(a).equals(readFileSync(b)));
  const info = await readGgufFileInfo(a, { logWarnings: false });
  assert.equal((info.metadata as unknown as { general: { architecture: string } }).general.architecture, 'mamba');
});

test('an F16 llama stores its matrices as F16 at half the size, keeps its norms F32, and generates', async () => {
  const options = { embedding: 64, layers: 2, heads: 4, kvHeads: 4, feedForward: 128 };
  const f32 = writeTinyLlamaGguf(path.join(dir, 'f32.gguf'), options);
  const f16 = writeTinyLlamaGguf(path.join(dir, 'f16.gguf'), { ...options, f16: true });
  const info = await readGgufFileInfo(f16, { logWarnings: false });
  const typeOf = (name: string) => info.tensorInfo!.find((t) => t.name === name)!.ggmlType;
  assert.equal(typeOf('blk.0.attn_q.weight'), 1); // GGML_TYPE_F16
  assert.equal(typeOf('blk.0.attn_norm.weight'), 0);
  assert.ok(statSync(f16).size < statSync(f32).size * 0.6);
  const { getLlama } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  const model = await llama.loadModel({ modelPath: f16 });
  const context = await model.createContext({ contextSize: 64 });
  const tokens = model.tokenize('the cat');
  const out: number[] = [];
  for await (const token of context.getSequence().evaluate(tokens)) { out.push(token); if (out.length === 4) break; }
  assert.equal(out.length, 4);
  assert.ok(out.every((t) => Number.isInteger(t) && t >= 0));
  await context.dispose();
  await model.dispose();
});
