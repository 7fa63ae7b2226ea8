/**
 * The real silero VAD model (../shared/models/onnx/silero_vad.onnx) as the stateful-model tests use
 * it: a synthetic 16 kHz signal cut into frames, the direct onnxruntime run with the state carried by
 * hand that server answers are compared with, and the model.yaml that makes Forja keep the state.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { SHARED_MODELS } from './server-process.js';

export const VAD = path.join(SHARED_MODELS, 'onnx/silero_vad.onnx');
export const VAD_PRESENT = existsSync(VAD);
export const CHUNK = 512;
export const CONTEXT = 64;
/** Samples per frame sent: the last CONTEXT of the previous chunk, then the chunk. */
export const FRAME = CONTEXT + CHUNK;
export const VAD_MODEL_YAML = 'max_batch_size: 64\nsequence:\n  state:\n    - { input: state, output: stateN, batch_axis: 1 }\n  idle_timeout_s: 60\n';

/**
 * 512-sample chunks at 16 kHz of silence (faint noise), a voiced burst (a glottal pulse train through
 * two formant resonators, pitch and onset differing per seed so a mix-up would show), silence.
 * Each frame is 576 samples: the last 64 of the previous chunk, then the chunk, as silero's own
 * wrapper feeds this model.
 */
export function signal(seed: number, chunks = 24): Float32Array[] {
  let s = seed * 7919 + 1;
  const noise = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.002;
  const start = 5 + (seed % 4);
  const resonator = (f: number, bw: number) => { const r = Math.exp((-Math.PI * bw) / 16000); return [2 * r * Math.cos((2 * Math.PI * f) / 16000), -r * r]; };
  const [a1, a2] = resonator(700, 130);
  const [b1, b2] = resonator(1200, 150);
  let y1 = 0, y2 = 0, z1 = 0, z2 = 0;
  const samples = new Float32Array(chunks * CHUNK);
  for (let n = 0; n < samples.length; n++) {
    const t = n / 16000;
    const c = Math.floor(n / CHUNK);
    const f0 = 100 + 5 * (seed % 10) + 20 * Math.sin(2 * Math.PI * 1.5 * t);
    const pulse = c >= start && c < start + 10 && n % Math.round(16000 / f0) === 0 ? 1 : 0;
    const y = pulse + a1 * y1 + a2 * y2; y2 = y1; y1 = y;
    const z = y + b1 * z1 + b2 * z2; z2 = z1; z1 = z;
    samples[n] = noise() + 0.05 * z;
  }
  const frames: Float32Array[] = [];
  for (let c = 0; c < chunks; c++) {
    const frame = new Float32Array(FRAME);
    if (c > 0) frame.set(samples.subarray(c * CHUNK - CONTEXT, c * CHUNK), 0);
    frame.set(samples.subarray(c * CHUNK, (c + 1) * CHUNK), CONTEXT);
    frames.push(frame);
  }
  return frames;
}

/** The speech probability of each frame from onnxruntime directly, the state carried by hand. */
export async function direct(chunks: Float32Array[]): Promise<number[]> {
  const session = await ort.InferenceSession.create(VAD);
  let state: ort.Tensor = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
  const sr = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);
  const probs: number[] = [];
  for (const chunk of chunks) {
    const r = await session.run({ input: new ort.Tensor('float32', chunk, [1, FRAME]), state, sr });
    probs.push((r.output.data as Float32Array)[0]);
    state = r.stateN;
  }
  await session.release();
  return probs;
}

/** The v2 JSON inputs of one frame (the state is left out: the server keeps it). */
export function frameInputs(chunk: Float32Array): object[] {
  return [
    { name: 'input', shape: [1, chunk.length], datatype: 'FP32', data: Array.from(chunk) },
    { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
  ];
}

/** Asserts two probability series agree to within float rounding. */
export function assertClose(got: number[], expected: number[], what: string): void {
  assert.equal(got.length, expected.length, `${what}: ${got.length} answers for ${expected.length} frames`);
  got.forEach((p, i) => assert.ok(Math.abs(p - expected[i]) < 1e-4, `${what} frame ${i}: ${p} vs ${expected[i]}`));
}
