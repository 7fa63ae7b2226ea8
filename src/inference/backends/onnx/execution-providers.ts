/**
 * Which execution providers to try, in order. 'auto' tries CUDA only when this onnxruntime build
 * ships it; an explicit list is tried as written, so a configured CUDA on a CPU machine is a
 * (logged, counted) fallback rather than a silent skip.
 */
import * as ort from 'onnxruntime-node';

export type ProviderName = 'cuda' | 'cpu';

export function cudaAvailable(): boolean {
  try {
    return ort.listSupportedBackends().some((b) => b.name === 'cuda' && b.bundled);
  } catch {
    return false;
  }
}

export function providerOrder(setting: 'auto' | readonly ProviderName[]): ProviderName[] {
  if (setting === 'auto') return cudaAvailable() ? ['cuda', 'cpu'] : ['cpu'];
  return [...setting];
}
