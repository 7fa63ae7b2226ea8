/**
 * GPU figures (dashboard and /metrics), read from `nvidia-smi` when the machine has one.
 * The probe runs at most every few seconds and only when asked (a page open, a scrape); a machine
 * without the tool is remembered after the first try, so nothing is spawned again.
 */
import { execFile } from 'node:child_process';
import type { GpuInfo } from '../dashboard/snapshot-types.js';

const QUERY = ['--query-gpu=name,utilization.gpu,memory.used,memory.total', '--format=csv,noheader,nounits'];
const MIB = 1024 * 1024;

export function parseNvidiaSmi(csv: string): GpuInfo[] {
  const num = (s: string | undefined) => {
    const n = Number(s?.trim());
    return s !== undefined && s.trim() !== '' && Number.isFinite(n) ? n : undefined;
  };
  return csv.split('\n').map((l) => l.trim()).filter(Boolean).map((line) => {
    const [name, util, used, total] = line.split(',');
    const usedMiB = num(used);
    const totalMiB = num(total);
    return {
      name: (name ?? '').trim(),
      utilizationPercent: num(util),
      memoryUsedBytes: usedMiB === undefined ? undefined : usedMiB * MIB,
      memoryTotalBytes: totalMiB === undefined ? undefined : totalMiB * MIB,
    };
  });
}

export class GpuProbe {
  private last: GpuInfo[] = [];
  private lastAt = 0;
  private running = false;
  private unavailable = false;

  constructor(private readonly everyMs = 5000, private readonly command = 'nvidia-smi') {}

  /** The latest reading at once; starts a new reading in the background when it is stale. */
  current(): GpuInfo[] {
    if (!this.unavailable && !this.running && Date.now() - this.lastAt >= this.everyMs) this.refresh();
    return this.last;
  }

  private refresh(): void {
    this.running = true;
    execFile(this.command, QUERY, { timeout: 3000 }, (err, stdout) => {
      this.running = false;
      this.lastAt = Date.now();
      if (err) {
        // Not installed (ENOENT) or no driver: there is no GPU to show; stop asking.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || this.last.length === 0) this.unavailable = true;
        return;
      }
      this.last = parseNvidiaSmi(stdout);
    });
  }
}
