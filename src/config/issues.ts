/**
 * Turns zod's validation issues for a config (forja.yaml, model.yaml) into one line per bad key,
 * each named by its full path; an unknown key gets "did you mean …?" from the keys the schema
 * knows at that place, the way the CLI answers a mistyped flag.
 */
import type { z } from 'zod';

/** The closest candidate by edit distance, when it is close enough to be a likely typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) { best = candidate; bestDistance = d; }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** Damerau-Levenshtein (optimal string alignment): a swapped pair of letters counts as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

type Def = { type?: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> };
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The keys an object schema accepts at `path` (through defaults and optionals). */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.ZodType | undefined = schema;
  for (const part of [...path, undefined]) {
    while (node && defOf(node).innerType) node = defOf(node).innerType;
    if (!node || defOf(node).type !== 'object') return [];
    const shape: Record<string, z.ZodType> = defOf(node).shape ?? {};
    if (part === undefined) return Object.keys(shape);
    node = shape[String(part)];
  }
  return [];
}

/**
 * One line per problem: `models.thread: unknown key (did you mean threads?)`. `origin` may name
 * where a key's value came from (an environment variable), which is then added to its line.
 */
export function describeIssues(error: z.ZodError, schema: z.ZodType, origin: (path: string) => string | undefined = () => undefined): string[] {
  const from = (key: string) => {
    const where = origin(key);
    return where ? ` (from ${where})` : '';
  };
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(schema, issue.path);
      return issue.keys.map((k) => {
        const key = [...issue.path, k].join('.');
        const guess = suggest(k, known);
        return `${key}: unknown key${guess ? ` (did you mean ${[...issue.path, guess].join('.')}?)` : ''}${from(key)}`;
      });
    }
    const key = issue.path.join('.') || '(root)';
    return [`${key}: ${issue.message}${from(key)}`];
  });
}
