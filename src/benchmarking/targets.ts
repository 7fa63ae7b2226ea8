/**
 * The targets a benchmark report states, gathered into one table for `forja bench` (and its
 * `--strict` gate). A benchmark states a target as any object in its JSON with a boolean `met`
 * (or `met` mapping names to booleans, one target each). Beside it, `target` says what is asked in
 * words, and the figure, limit and peer are read from the keys benchmarks already use for them.
 * Kept pure so it is tested without running a benchmark.
 */

export interface TargetRow {
  /** Dotted path of the object that holds `met`, e.g. `llm-conversation.models.stories260K.targets.0`. */
  path: string;
  target: string;
  figure?: number;
  limit?: number;
  peer?: number;
  met: boolean;
}

const FIGURE_KEYS = ['figure', 'ratio', 'vs_direct_best', 'ratioVsDirect', 'ratio_vs_direct', 'added_p50_ms', 'median_ms'];
const LIMIT_KEYS = ['limit', 'target_added_p50_ms', 'target_ratio', 'target'];
const PEER_KEYS = ['peer', 'peer_figure'];

const numberAt = (object: Record<string, unknown>, keys: string[]) => {
  for (const key of keys) if (typeof object[key] === 'number') return object[key] as number;
  return undefined;
};

/** Every target of every benchmark, in report order. */
export function collectTargets(benchmarks: Record<string, unknown>): TargetRow[] {
  const rows: TargetRow[] = [];
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) { value.forEach((item, i) => walk(item, `${path}.${i}`)); return; }
    if (value === null || typeof value !== 'object') return;
    const object = value as Record<string, unknown>;
    const said = typeof object.target === 'string' ? object.target : undefined;
    if (typeof object.met === 'boolean') {
      rows.push({ path, target: said ?? path, figure: numberAt(object, FIGURE_KEYS), limit: numberAt(object, LIMIT_KEYS), peer: numberAt(object, PEER_KEYS), met: object.met });
    } else if (object.met !== null && typeof object.met === 'object') {
      for (const [name, met] of Object.entries(object.met as Record<string, unknown>)) {
        if (typeof met === 'boolean') rows.push({ path: `${path}.met.${name}`, target: `${said ?? path} (${name})`, met });
      }
    }
    for (const [key, child] of Object.entries(object)) if (key !== 'met') walk(child, `${path}.${key}`);
  };
  for (const [name, result] of Object.entries(benchmarks)) walk(result, name);
  return rows;
}

/** The table as text: one line per target, unmet ones marked so they stand out in a terminal. */
export function formatTargets(rows: TargetRow[]): string {
  if (rows.length === 0) return 'no targets in this report\n';
  const cell = (x: number | undefined) => (x === undefined ? '-' : String(x));
  const table = [['met', 'figure', 'limit', 'peer', 'target'], ...rows.map((r) => [r.met ? 'yes' : 'NO', cell(r.figure), cell(r.limit), cell(r.peer), r.target === r.path ? r.path : `${r.target}  [${r.path}]`])];
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  const met = rows.filter((r) => r.met).length;
  return table.map((row) => row.map((text, c) => (c === row.length - 1 ? text : text.padEnd(widths[c]))).join('  ')).join('\n') + `\n${met} of ${rows.length} targets met\n`;
}
