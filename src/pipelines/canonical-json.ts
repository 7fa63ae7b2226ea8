/**
 * JSON text with object keys sorted at every level: equal values give equal text whatever order
 * their keys were written in (how an idempotency key's input is compared with the stored one).
 * The sorting is a replacer, so nesting is handled by JSON.stringify itself, not by recursion here.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
