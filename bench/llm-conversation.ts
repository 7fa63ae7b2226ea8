/**
 * Multi-turn conversation benchmark, printing JSON: C conversations side by side, T turns each, over
 * /v1/completions with streaming. Every turn re-sends the whole conversation so far plus ~80 new
 * tokens of user text and asks for G generated tokens, the way a chat client does; the time to the
 * first streamed text is measured per turn. Forja (`forja serve` as a child process) and, when
 * LLAMA_SERVER_BIN is set, llama.cpp's llama-server (with its prompt cache, at 1 and 2 threads) serve
 * the same conversations in the same run. Targets: every turn's TTFT ≤ the peer's at its best thread
 * count, and turn T's TTFT within 2× of turn 1's.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/llm-conversation.js [--conversations 4] [--turns 10] [--generate 64] [--runs 3] [--quick]
 * `--quick` (for CI) runs 2 conversations × 3 turns × 16 tokens, one round.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom, writeTinyLlamaGguf } from '../support/gguf-writer.js';
import { streamCompletion, type StreamedCompletion } from './lib/completion-stream.js';
import { startLlamaServer } from './lib/llama-server.js';
import { startListening } from './lib/processes.js';
import { median } from '../src/telemetry/stats.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => { const i = args.indexOf(`--${name}`); return i === -1 ? fallback : Number(args[i + 1]); };
const QUICK = args.includes('--quick');
const CONVERSATIONS = arg('conversations', QUICK ? 2 : 4);
const TURNS = arg('turns', QUICK ? 3 : 10);
const GENERATE = arg('generate', QUICK ? 16 : 64);
const RUNS = arg('runs', QUICK ? 1 : 3);
const CONTEXT = 4096;
const WORDS = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'then', 'dog', 'ran', 'far', 'away', 'into', 'wood', 'where', 'bird', 'sang', 'song', 'to', 'tree', 'big', 'red', 'ball', 'girl', 'boy', 'happy', 'sun', 'day'];

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** ~80 tokens of user text for the stories260K and generated vocabularies (≈ 40 short words). */
function userText(random: () => number): string {
  return `\nUser: ${Array.from({ length: 40 }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ')}.\nStory:`;
}

/** One turn: the whole conversation so far as the prompt, G tokens generated greedily. */
const turn = (base: string, model: string, prompt: string) => streamCompletion(agent, base, { model, prompt, max_tokens: GENERATE, temperature: 0 });

/** C conversations side by side, T turns each; per turn, the median TTFT over conversations. */
async function conversations(base: string, model: string): Promise<{ ttftMs: number[]; promptTokens: number[]; cachedTokens: number[] }> {
  const perTurn: StreamedCompletion[][] = Array.from({ length: TURNS }, () => []);
  await Promise.all(Array.from({ length: CONVERSATIONS }, async (_, c) => {
    const random = seededRandom(1000 + c);
    let prompt = 'Once upon a time';
    for (let t = 0; t < TURNS; t++) {
      prompt += userText(random);
      const result = await turn(base, model, prompt);
      perTurn[t].push(result);
      prompt += result.text;
    }
  }));
  return {
    ttftMs: perTurn.map((rs) => median(rs.map((r) => r.ttftMs))),
    promptTokens: perTurn.map((rs) => median(rs.map((r) => r.promptTokens))),
    cachedTokens: perTurn.map((rs) => median(rs.map((r) => r.cachedTokens))),
  };
}

/** Medians of RUNS rounds, per turn (a warm-up round first, on other conversations' text). */
async function rounds(base: string, model: string) {
  await turn(base, model, 'Once upon a time there was a warm-up');
  const all: Array<Awaited<ReturnType<typeof conversations>>> = [];
  for (let r = 0; r < RUNS; r++) all.push(await conversations(base, model));
  const perTurn = (pick: (x: typeof all[number]) => number[]) => Array.from({ length: TURNS }, (_, t) => round(median(all.map((x) => pick(x)[t])), 2));
  return { ttft_ms: perTurn((x) => x.ttftMs), prompt_tokens: perTurn((x) => x.promptTokens), cached_tokens: perTurn((x) => x.cachedTokens) };
}

async function benchModel(name: string, file: string, forjaBin: string) {
  const repo = mkdtempSync(path.join(os.tmpdir(), 'forja-bench-conv-'));
  mkdirSync(path.join(repo, name, '1'), { recursive: true });
  copyFileSync(file, path.join(repo, name, '1', 'model.gguf'));
  writeFileSync(path.join(repo, name, 'model.yaml'), `context_size: ${CONTEXT}\nparallel: ${CONVERSATIONS}\n`);
  const result: Record<string, unknown> = {};
  const forja = await startListening(process.execPath, [forjaBin, 'serve', '--models', repo, '--port', '0', '--log-format', 'json'], { FORJA_LOG__LEVEL: 'warn' });
  try {
    result.forja = await rounds(forja.url, name);
  } finally {
    await forja.stop();
    rmSync(repo, { recursive: true, force: true });
  }
  const forjaTtft = (result.forja as { ttft_ms: number[] }).ttft_ms;
  const targets: Record<string, unknown>[] = [{
    target: `turn ${TURNS} TTFT within 2x of turn 1`, figure: round(forjaTtft[TURNS - 1] / forjaTtft[0], 2), limit: 2, met: forjaTtft[TURNS - 1] <= 2 * forjaTtft[0],
  }];
  const bin = process.env.LLAMA_SERVER_BIN;
  if (bin) {
    const peers: Record<string, { ttft_ms: number[] }> = {};
    for (const threads of [1, 2]) {
      const server = await startLlamaServer(bin, file, { threads, slots: CONVERSATIONS, contextPerSlot: CONTEXT });
      try {
        peers[`threads_${threads}`] = await rounds(server.base, name);
      } finally {
        server.child.kill();
      }
    }
    result.llama_server = peers;
    // The peer at its best: the lower TTFT of its two thread counts, turn by turn.
    const best = Array.from({ length: TURNS }, (_, t) => Math.min(peers.threads_1.ttft_ms[t], peers.threads_2.ttft_ms[t]));
    const ratios = forjaTtft.map((f, t) => round(f / best[t], 2));
    result.ratio_ttft_forja_over_llama_server_best = ratios;
    targets.push({ target: 'every turn TTFT <= llama-server at its best thread count', figure: Math.max(...ratios), limit: 1, met: ratios.every((r) => r <= 1) });
  } else {
    result.llama_server = 'skipped: set LLAMA_SERVER_BIN to compare';
  }
  result.targets = targets;
  return result;
}

async function main(): Promise<void> {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const forjaBin = path.join(repoRoot, 'dist/src/cli/main.js');
  const stories = path.resolve(repoRoot, '../shared/models/gguf/stories260K.gguf');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-bench-conv-models-'));
  const out: Record<string, unknown> = {
    bench: 'llm-conversation',
    quick: QUICK,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.arch()}` },
    settings: { conversations: CONVERSATIONS, turns: TURNS, new_user_tokens_per_turn: '~80', generated_tokens_per_turn: GENERATE, context_per_sequence: CONTEXT, sampling: 'greedy', runs: RUNS, statistic: 'median over conversations, then over runs', forja: 'default threads; model.yaml sets context_size and parallel only' },
    models: {} as Record<string, unknown>,
  };
  try {
    const models = out.models as Record<string, unknown>;
    if (existsSync(stories)) models.stories260K = await benchModel('stories260K', stories, forjaBin);
    else models.stories260K = `skipped: ${stories} not found`;
    if (!QUICK) models['generated-tiny-llama'] = await benchModel('tiny', writeTinyLlamaGguf(path.join(dir, 'tiny.gguf'), { embedding: 64, layers: 4, heads: 8, kvHeads: 4, feedForward: 172, contextLength: CONTEXT }), forjaBin);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    agent.destroy();
  }
  console.log(JSON.stringify(out, null, 2));
}

await main();
