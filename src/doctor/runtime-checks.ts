/**
 * Runtime checks: the Node.js version, onnxruntime-node and its execution providers, and
 * node-llama-cpp's native backend with the GPU it detected (CUDA, Vulkan, Metal or none).
 */
import { createRequire } from 'node:module';
import type { Llama } from 'node-llama-cpp';
import { result, firstLine, formatBytes, withTimeout, type CheckResult } from './types.js';

const GROUP = 'runtime';
/** package.json "engines": node >= 20.18 (better-sqlite3 and node-llama-cpp prebuilt binaries need it). */
const MIN_NODE: [number, number] = [20, 18];
const LLAMA_TIMEOUT_MS = 20_000;

export function checkNode(version = process.versions.node): CheckResult {
  const [major, minor] = version.split('.').map(Number);
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return ok
    ? result(GROUP, 'Node.js', 'pass', `v${version}`)
    : result(GROUP, 'Node.js', 'fail', `v${version} is older than ${MIN_NODE.join('.')}`, `install Node.js ${MIN_NODE.join('.')} or newer (nvm install 20)`);
}

export async function checkOnnxRuntime(): Promise<CheckResult[]> {
  try {
    const ort = await import('onnxruntime-node');
    const version = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
    const backends = ort.listSupportedBackends();
    const bundled = backends.filter((b) => b.bundled).map((b) => b.name);
    const cuda = bundled.includes('cuda');
    return [
      result(GROUP, 'onnxruntime-node', 'pass', `${version}, execution providers: ${bundled.join(', ')}`),
      cuda
        ? result(GROUP, 'ONNX CUDA provider', 'pass', 'bundled; models try CUDA first, then CPU')
        : result(GROUP, 'ONNX CUDA provider', 'skip', 'not in this build; ONNX models run on the CPU',
          'for NVIDIA GPUs reinstall with the CUDA binaries: ONNXRUNTIME_NODE_INSTALL_CUDA=v12 npm rebuild onnxruntime-node'),
    ];
  } catch (err) {
    return [result(GROUP, 'onnxruntime-node', 'fail', `cannot load: ${firstLine(err)}`,
      'reinstall dependencies (npm ci); onnxruntime-node downloads its native binary at install time')];
  }
}

export interface LlamaProbe {
  results: CheckResult[];
  /** The runtime, for validating GGUF models; undefined when it could not start. */
  llama?: Llama;
}

/**
 * Starts node-llama-cpp the way the server does (prebuilt binaries, GPU auto-detected). A failure
 * is required only when the repository holds GGUF models.
 */
export async function probeLlama(required: boolean): Promise<LlamaProbe> {
  const failStatus = required ? 'fail' : 'warn';
  let llama: Llama;
  try {
    const { getLlama } = await import('node-llama-cpp');
    llama = await withTimeout(getLlama({ gpu: 'auto', build: 'never', logLevel: 'error' as never, logger: () => undefined }), LLAMA_TIMEOUT_MS, 'node-llama-cpp start');
  } catch (err) {
    return { results: [result(GROUP, 'node-llama-cpp', failStatus, `cannot start: ${firstLine(err)}`,
      'no prebuilt llama.cpp binary fits this machine; run `npx --no node-llama-cpp source download` to build one, or reinstall (npm ci)')] };
  }
  const results = [result(GROUP, 'node-llama-cpp', 'pass', `llama.cpp ${llama.llamaCppRelease.release} (${llama.buildType})`)];
  if (llama.gpu === false) {
    results.push(result(GROUP, 'LLM GPU', 'skip', 'no CUDA, Vulkan or Metal GPU detected; GGUF models run on the CPU',
      'for a GPU install its driver (NVIDIA: CUDA 12 runtime; others: Vulkan) and run forja doctor again'));
  } else {
    try {
      const [names, vram] = await Promise.all([llama.getGpuDeviceNames(), llama.getVramState()]);
      results.push(result(GROUP, 'LLM GPU', 'pass', `${llama.gpu}: ${names.join(', ') || 'device'}; VRAM ${formatBytes(vram.free)} free of ${formatBytes(vram.total)}`));
    } catch (err) {
      results.push(result(GROUP, 'LLM GPU', 'warn', `${llama.gpu} detected but not queryable: ${firstLine(err)}`, 'check the GPU driver installation'));
    }
  }
  return { results, llama };
}
