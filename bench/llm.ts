/**
 * LLM serving benchmark. Prints JSON. For each model (stories260K when present, a generated tiny
 * llama, and outside --quick a generated ~25 M-parameter F16 llama that is compute-bound):
 * aggregate tokens/s with 1 and 4 concurrent streams over HTTP (Forja's OpenAI routes, streaming,
 * greedy, 128 tokens per stream), time to first token over HTTP, and prompt processing (tokens/s
 * of a ~1,000-token prompt, a new one each round so no prompt cache helps), each next to
 * node-llama-cpp's high-level API called directly in this process and Forja's engine without HTTP.
 * Forja runs in its default configuration (no threads setting). With LLAMA_SERVER_BIN set,
 * llama.cpp's llama-server serves the same work through the same client at 1 and at 2 threads, and
 * Forja is compared with the peer at its best (targets: each ≥ 1.0×, TTFT ≤ the peer's).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/llm.js [--runs 3] [--tokens 128] [--quick]
 * `--quick` (for CI) streams 32 tokens instead of 128 unless --tokens says otherwise.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { LlamaCompletion, type Llama } from 'node-llama-cpp';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { median, round } from '../src/telemetry/stats.js';
import { errors } from '../src/errors.js';
import { createLlamaLoader, defaultThreads } from '../src/inference/backends/llama/index.js';
import type { LanguageModel } from '../src/inference/types.js';
import { openaiRoutes } from '../src/protocols/openai/index.js';
import { writeTinyLlamaGguf } from '../support/gguf-writer.js';
import { streamCompletion } from './lib/completion-stream.js';
import { startLlamaServer } from './lib/llama-server.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => { const i = args.indexOf(`--${name}`); return i === -1 ? fallback : Number(args[i + 1]); };
const QUICK = args.includes('--quick');
const RUNS = arg('runs', 3);
const TOKENS = arg('tokens', QUICK ? 32 : 128);
const THREADS = defaultThreads();
const PEER_THREADS = [1, 2];
const SEQUENCES = 4;
const CONTEXT = 1280;
const PROMPT = 'Once upon a time';
const LONG_PROMPT_WORDS = QUICK ? 120 : 600;
const LONG_WORDS = ['the', 'little', 'girl', 'saw', 'a', 'big', 'dog', 'in', 'park', 'and', 'she', 'was', 'happy', 'to', 'play', 'with', 'ball', 'all', 'day', 'long'];

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** One streamed greedy completion over HTTP: completion tokens, prompt tokens and ms to the first text. */
async function streamOnce(base: string, model: string, maxTokens: number, prompt = PROMPT): Promise<{ tokens: number; promptTokens: number; ttftMs: number }> {
  const r = await streamCompletion(agent, base, { model, prompt, max_tokens: maxTokens, temperature: 0 });
  return { tokens: r.completionTokens, promptTokens: r.promptTokens, ttftMs: r.ttftMs };
}

async function httpThroughput(base: string, model: string, streams: number): Promise<number> {
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: streams }, () => streamOnce(base, model, TOKENS)));
  return results.reduce((a, r) => a + r.tokens, 0) / ((performance.now() - t0) / 1000);
}

async function httpTtft(base: string, model: string): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 10; i++) samples.push((await streamOnce(base, model, 4)).ttftMs);
  return median(samples);
}

let promptRound = 0;
/** A ~1,000-token prompt that starts differently every call, so no prompt cache can serve it. */
function longPrompt(): string {
  const seed = ++promptRound;
  const words = Array.from({ length: LONG_PROMPT_WORDS }, (_, i) => LONG_WORDS[(i * 7 + seed * 13 + (i >> 3)) % LONG_WORDS.length]);
  return `Story ${seed}: ${words.join(' ')}`;
}

/** Prompt tokens per second: the prompt's own token count over the time to its first generated token. */
async function promptRate(base: string, model: string): Promise<{ tokensPerS: number; promptTokens: number }> {
  const r = await streamOnce(base, model, 1, longPrompt());
  return { tokensPerS: r.promptTokens / (r.ttftMs / 1000), promptTokens: r.promptTokens };
}

async function measure(fn: () => Promise<number>): Promise<number> {
  await fn(); // warm-up
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) xs.push(await fn());
  return median(xs);
}

/** node-llama-cpp's own high-level API, in process: LlamaCompletion on sequences of one context. */
async function direct(llama: Llama, file: string): Promise<{ tps1: number; tps4: number; ttftMs: number }> {
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: CONTEXT, sequences: SEQUENCES, threads: THREADS });
  const sequences = Array.from({ length: SEQUENCES }, () => context.getSequence());
  const one = async (i: number) => {
    const completion = new LlamaCompletion({ contextSequence: sequences[i] });
    let tokens = 0;
    const started = performance.now();
    let ttft = -1;
    await completion.generateCompletion(PROMPT, { maxTokens: TOKENS, temperature: 0, onToken: (t) => { if (ttft < 0) ttft = performance.now() - started; tokens += t.length; } });
    await sequences[i].clearHistory();
    return { tokens, ttft };
  };
  const run = async (n: number) => {
    const t0 = performance.now();
    const rs = await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
    return rs.reduce((a, r) => a + r.tokens, 0) / ((performance.now() - t0) / 1000);
  };
  const tps1 = await measure(() => run(1));
  const tps4 = await measure(() => run(4));
  const ttfts: number[] = [];
  for (let i = 0; i < 10; i++) ttfts.push((await one(0)).ttft);
  await context.dispose();
  await model.dispose();
  return { tps1, tps4, ttftMs: median(ttfts) };
}

/** Medians of prompt processing rates over RUNS new prompts (after one warm-up). */
async function promptRates(base: string, model: string): Promise<{ tokensPerS: number; promptTokens: number }> {
  await promptRate(base, model);
  const rs = [];
  for (let i = 0; i < RUNS; i++) rs.push(await promptRate(base, model));
  return { tokensPerS: median(rs.map((r) => r.tokensPerS)), promptTokens: median(rs.map((r) => r.promptTokens)) };
}

async function engineInProcess(model: LanguageModel): Promise<{ tps1: number; tps4: number }> {
  const run = async (n: number) => {
    const t0 = performance.now();
    const rs = await Promise.all(Array.from({ length: n }, () => model.complete({ prompt: PROMPT, maxTokens: TOKENS, temperature: 0 })));
    return rs.reduce((a, r) => a + r.usage.completionTokens, 0) / ((performance.now() - t0) / 1000);
  };
  return { tps1: await measure(() => run(1)), tps4: await measure(() => run(4)) };
}

const progress = (message: string) => process.stderr.write(`bench llm: ${message}\n`);

async function benchModel(name: string, file: string, llama: Llama) {
  progress(`${name}: Forja`);
  const registry = new Registry();
  const loader = createLlamaLoader({ registry, logger: pino({ level: 'silent' }), llama });
  // Forja's defaults: no threads setting (cores − 1), the default parallel sequences; only the context is sized for the long prompt.
  const model = await loader.load({ name, version: '1', path: file, format: 'gguf', config: { context_size: CONTEXT } }, { preferGpu: false });
  const app = Fastify();
  await app.register(openaiRoutes, {
    models: {
      list: () => [{ name, kind: 'llm', versions: ['1'] }],
      acquire: async (n: string) => { if (n !== name) throw errors.MODEL_NOT_FOUND(n); return { model, source: { version: '1' }, release: () => undefined }; },
    },
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const forja = {
    tps1: await measure(() => httpThroughput(base, name, 1)),
    tps4: await measure(() => httpThroughput(base, name, 4)),
    ttftMs: await httpTtft(base, name),
    prompt: await promptRates(base, name),
  };
  const engine = await engineInProcess(model);
  await app.close();
  await model.unload();
  progress(`${name}: node-llama-cpp directly`);
  const lib = await direct(llama, file);
  const result: Record<string, unknown> = {
    forja_http: { tokens_per_s_1_stream: round(forja.tps1, 1), tokens_per_s_4_streams: round(forja.tps4, 1), ttft_ms: round(forja.ttftMs, 2), prompt_tokens_per_s: round(forja.prompt.tokensPerS, 1), prompt_tokens: forja.prompt.promptTokens, threads: model.info.threads },
    forja_engine_in_process: { tokens_per_s_1_stream: round(engine.tps1, 1), tokens_per_s_4_streams: round(engine.tps4, 1) },
    node_llama_cpp_direct: { tokens_per_s_1_stream: round(lib.tps1, 1), tokens_per_s_4_streams: round(lib.tps4, 1), ttft_ms_in_process: round(lib.ttftMs, 2) },
    ratios: {
      forja_http_vs_direct_1_stream: round(forja.tps1 / lib.tps1, 2),
      forja_http_vs_direct_4_streams: round(forja.tps4 / lib.tps4, 2),
      forja_http_vs_engine_4_streams: round(forja.tps4 / engine.tps4, 2),
    },
  };
  const bin = process.env.LLAMA_SERVER_BIN;
  if (bin) {
    const peers: Record<string, { tps1: number; tps4: number; ttftMs: number; prompt: { tokensPerS: number; promptTokens: number } }> = {};
    for (const threads of PEER_THREADS) {
      progress(`${name}: llama-server -t ${threads}`);
      const server = await startLlamaServer(bin, file, { threads, slots: SEQUENCES, contextPerSlot: CONTEXT });
      try {
        peers[threads] = {
          tps1: await measure(() => httpThroughput(server.base, name, 1)),
          tps4: await measure(() => httpThroughput(server.base, name, 4)),
          ttftMs: await httpTtft(server.base, name),
          prompt: await promptRates(server.base, name),
        };
      } finally {
        server.child.kill();
      }
    }
    result.llama_server = Object.fromEntries(Object.entries(peers).map(([threads, p]) => [`threads_${threads}`, {
      tokens_per_s_1_stream: round(p.tps1), tokens_per_s_4_streams: round(p.tps4), ttft_ms: round(p.ttftMs, 2), prompt_tokens_per_s: round(p.prompt.tokensPerS), prompt_tokens: p.prompt.promptTokens,
    }]));
    // The peer at its best thread count, figure by figure.
    const all = Object.values(peers);
    const best = {
      tps1: Math.max(...all.map((p) => p.tps1)),
      tps4: Math.max(...all.map((p) => p.tps4)),
      ttftMs: Math.min(...all.map((p) => p.ttftMs)),
      prompt: Math.max(...all.map((p) => p.prompt.tokensPerS)),
    };
    const ratio = (x: number, y: number) => round(x / y, 2);
    Object.assign(result.ratios as object, {
      forja_vs_llama_server_best_1_stream: ratio(forja.tps1, best.tps1),
      forja_vs_llama_server_best_4_streams: ratio(forja.tps4, best.tps4),
      forja_vs_llama_server_best_prompt: ratio(forja.prompt.tokensPerS, best.prompt),
      ttft_forja_minus_llama_server_best_ms: round(forja.ttftMs - best.ttftMs, 2),
    });
    result.targets = [
      { target: 'tokens/s, 1 stream >= llama-server at its best thread count', figure: round(forja.tps1), peer: round(best.tps1), ratio: ratio(forja.tps1, best.tps1), met: forja.tps1 >= best.tps1 },
      { target: 'tokens/s, 4 streams >= llama-server at its best thread count', figure: round(forja.tps4), peer: round(best.tps4), ratio: ratio(forja.tps4, best.tps4), met: forja.tps4 >= best.tps4 },
      { target: 'TTFT over HTTP <= llama-server at its best', figure: round(forja.ttftMs, 2), peer: round(best.ttftMs, 2), met: forja.ttftMs <= best.ttftMs },
      { target: 'prompt tokens/s (~1,000-token prompt) >= llama-server at its best', figure: round(forja.prompt.tokensPerS), peer: round(best.prompt), ratio: ratio(forja.prompt.tokensPerS, best.prompt), met: forja.prompt.tokensPerS >= best.prompt },
    ];
  } else {
    result.llama_server = 'skipped: set LLAMA_SERVER_BIN to compare';
  }
  return result;
}

async function main(): Promise<void> {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const stories = path.resolve(repoRoot, '../shared/models/gguf/stories260K.gguf');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-bench-llm-'));
  const loader = createLlamaLoader({ registry: new Registry(), logger: pino({ level: 'silent' }) });
  const llama = await loader.runtime();
  const out: Record<string, unknown> = {
    bench: 'llm',
    quick: QUICK,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.arch()}` },
    settings: { forja: 'default configuration (threads = cores - 1, parallel 4); context_size set for the long prompt', direct_threads: THREADS, llama_server_threads: PEER_THREADS, sequences: SEQUENCES, context_per_sequence: CONTEXT, tokens_per_stream: TOKENS, prompt: PROMPT, long_prompt_words: LONG_PROMPT_WORDS, sampling: 'greedy', runs: RUNS, statistic: 'median' },
    models: {} as Record<string, unknown>,
  };
  try {
    const models = out.models as Record<string, unknown>;
    if (existsSync(stories)) models.stories260K = await benchModel('stories260K', stories, llama);
    else models.stories260K = `skipped: ${stories} not found`;
    models['generated-tiny-llama'] = await benchModel('tiny', writeTinyLlamaGguf(path.join(dir, 'tiny.gguf'), { embedding: 64, layers: 4, heads: 8, kvHeads: 4, feedForward: 172, contextLength: 2048 }), llama);
    // Compute-bound: ~25 M parameters in F16, where the matrix work, not the per-step overhead, dominates.
    if (!QUICK) models['generated-25m-f16'] = await benchModel('m25', writeTinyLlamaGguf(path.join(dir, 'm25.gguf'), { embedding: 512, layers: 8, heads: 8, kvHeads: 8, feedForward: 1408, contextLength: 2048, f16: true }), llama);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    agent.destroy();
  }
  console.log(JSON.stringify(out, null, 2));
}

await main();
