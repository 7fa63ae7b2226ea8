/** Prints doctor results as a table (✓ ✗ ! -) with hints under failures, or as JSON. */
import type { CheckResult, CheckStatus } from './types.js';

const MARK: Record<CheckStatus, string> = { pass: '✓', fail: '✗', warn: '!', skip: '-' };

export interface DoctorReport {
  ok: boolean;
  /** Milliseconds the checks took. */
  elapsedMs: number;
  counts: Record<CheckStatus, number>;
  checks: CheckResult[];
}

export function summarize(checks: CheckResult[], elapsedMs: number): DoctorReport {
  const counts: Record<CheckStatus, number> = { pass: 0, fail: 0, warn: 0, skip: 0 };
  for (const c of checks) counts[c.status]++;
  return { ok: counts.fail === 0, elapsedMs, counts, checks };
}

export function formatTable(report: DoctorReport): string {
  const nameWidth = Math.min(32, Math.max(...report.checks.map((c) => c.name.length), 5));
  const groupWidth = Math.max(...report.checks.map((c) => c.group.length), 5);
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${MARK[c.status]} ${c.group.padEnd(groupWidth)}  ${c.name.padEnd(nameWidth)}  ${c.detail}`);
    if (c.hint && (c.status === 'fail' || c.status === 'warn')) lines.push(`  ${' '.repeat(groupWidth)}  ${' '.repeat(nameWidth)}  → ${c.hint}`);
  }
  const { pass, fail, warn, skip } = report.counts;
  lines.push('');
  lines.push(`${fail === 0 ? '✓' : '✗'} ${pass} passed, ${fail} failed, ${warn} warnings, ${skip} not applicable (${(report.elapsedMs / 1000).toFixed(1)} s)`);
  return lines.join('\n') + '\n';
}
