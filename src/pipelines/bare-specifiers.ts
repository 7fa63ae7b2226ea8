/**
 * Lets pipeline modules anywhere on disk `import 'forja'` and `import 'zod'`: when the pipeline's own
 * directory (its node_modules) does not provide them, they resolve to this installation's Forja and
 * the zod Forja itself uses. ES modules go through a module-resolution hook (bare-specifier-hooks.ts);
 * TypeScript pipelines outside an ESM package are compiled to CommonJS by tsx, so `require` gets the
 * same fallback. Every other specifier, and every resolution that succeeds, is left as Node made it.
 */
import Module, { createRequire, register } from 'node:module';
import { fileURLToPath } from 'node:url';

const FORJA_ENTRY = new URL('../index.js', import.meta.url);
const isZod = (specifier: string) => specifier === 'zod' || specifier.startsWith('zod/');

let installed = false;

export function resolveForjaForPipelines(): void {
  if (installed) return;
  installed = true;
  register(new URL('./bare-specifier-hooks.js', import.meta.url), { data: { forjaEntry: FORJA_ENTRY.href, forjaParent: import.meta.url } });

  // CommonJS has no public resolution hook on Node 20: wrap the resolver, as tsx itself does.
  const cjs = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolveFilename = cjs._resolveFilename;
  const fromForja = createRequire(import.meta.url);
  cjs._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
    try {
      return resolveFilename.call(this, request, ...rest);
    } catch (err) {
      if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
      if (request === 'forja') return fileURLToPath(FORJA_ENTRY);
      if (isZod(request)) return fromForja.resolve(request);
      throw err;
    }
  };
}
