/**
 * Loads the user's own modules (scenarios, agentperf.config.*) whatever their project is: ESM or
 * CommonJS, TypeScript or JavaScript (.ts .mts .cts .js .mjs .cjs), with or without
 * `"type": "module"` in its package.json.
 *
 * TypeScript goes through tsx, registered for the whole process the first time one is loaded,
 * with both of its hooks: the ESM hook alone cannot load a `.ts` file of a CommonJS package
 * (Node 20 then fails with "Cannot require() ES Module ... in a cycle"), the CommonJS hook
 * compiles those. A process-wide registration, not tsx's scoped `tsImport`: a scoped import
 * loads every package the module imports again, so a scenario's `agentperf` would be a second
 * copy with its own classes and logger. JavaScript is imported by Node itself.
 */
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);
export const USER_MODULE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const;

let registered: Promise<void> | undefined;

/** tsx's ESM and CommonJS hooks, once per process (only when the user has TypeScript to load). */
function registerTypeScript(): Promise<void> {
  registered ??= (async () => {
    const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    esm.register();
    cjs.register();
  })();
  return registered;
}

/**
 * Imports a user's module by absolute path and returns its exports. A CommonJS module compiled
 * from ESM syntax arrives as `{ default: { __esModule, default, ... } }`: that inner object is
 * what its author exported, so it is what is returned.
 */
export async function importUserModule(file: string): Promise<Record<string, unknown>> {
  if (TYPESCRIPT.has(extname(file))) await registerTypeScript();
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const inner = module.default as Record<string, unknown> | undefined;
  return inner && typeof inner === 'object' && inner.__esModule === true ? inner : module;
}
