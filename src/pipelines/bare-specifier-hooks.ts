/**
 * Module-resolution hooks (registered by bare-specifiers.ts) for pipeline modules that live outside this
 * installation: `import 'forja'` and `import 'zod'` resolve as usual when the pipeline's own
 * directory provides them (its node_modules), and otherwise to this installation's Forja and the
 * zod Forja itself uses. Every other specifier, and every success, is left as Node resolved it.
 */
interface HookData {
  /** file: URL of this installation's public entry point (dist/src/index.js). */
  forjaEntry: string;
  /** A file: URL inside this installation, to resolve zod from as Forja does. */
  forjaParent: string;
}

interface ResolveContext { parentURL?: string; conditions: string[]; importAttributes?: Record<string, string> }
interface ResolveResult { url: string; format?: string | null; shortCircuit?: boolean }
type NextResolve = (specifier: string, context?: Partial<ResolveContext>) => Promise<ResolveResult>;

let data: HookData | undefined;

export function initialize(options: HookData): void {
  data = options;
}

const isZod = (specifier: string) => specifier === 'zod' || specifier.startsWith('zod/');

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<ResolveResult> {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    if (!data || (err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    if (specifier === 'forja') return { url: data.forjaEntry, format: 'module', shortCircuit: true };
    if (isZod(specifier)) return nextResolve(specifier, { ...context, parentURL: data.forjaParent });
    throw err;
  }
}
