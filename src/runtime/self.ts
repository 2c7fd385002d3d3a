/**
 * Where the running agentperf lives, and how to start more of it in child processes and worker
 * threads. agentperf runs either from its TypeScript sources (this repository's tests and
 * development, through tsx) or as built JavaScript (`dist/`, what the package ships). Its own
 * code never needs tsx when built; tsx is loaded only for the user's TypeScript modules.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** True when this module is TypeScript run through tsx, false when it is the built package. */
export const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** The extension agentperf's own modules have in this run: `.ts` from source, `.js` built. */
export const MODULE_EXTENSION = FROM_SOURCE ? '.ts' : '.js';

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'agentperf') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`agentperf's package.json was not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** agentperf's own package directory (the checkout, or `node_modules/agentperf`). Never the user's. */
export const PACKAGE_ROOT = findPackageRoot();

export const VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** A file shipped beside the code (agents.json, templates/...), by its path in the package. */
export function packageFile(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}

/** A module next to `base` (an `import.meta.url`) by its name without extension, as this run has it. */
export function siblingModule(base: string, stem: string): URL {
  return new URL(`${stem}${MODULE_EXTENSION}`, base);
}

/** tsx's ESM loader, resolved from agentperf's own dependencies (the user's project may not have tsx). */
export function tsxLoaderUrl(): string {
  return import.meta.resolve('tsx');
}

/**
 * How `node` runs one of agentperf's own modules in a child process: with tsx's loader when
 * agentperf runs from source, plain otherwise.
 */
export function moduleInvocation(module: URL): { execArgv: string[]; file: string } {
  const file = fileURLToPath(module);
  return { execArgv: file.endsWith('.ts') ? ['--import', tsxLoaderUrl()] : [], file };
}

/** The same as `node` arguments: the loader (if any), then the module's file. */
export function nodeArgsForModule(module: URL): string[] {
  const { execArgv, file } = moduleInvocation(module);
  return [...execArgv, file];
}

/** The `node` arguments that run agentperf's CLI in a child process (the same agentperf as this one). */
export function cliNodeArgs(): string[] {
  return nodeArgsForModule(pathToFileURL(join(PACKAGE_ROOT, FROM_SOURCE ? 'src/cli.ts' : 'dist/src/cli.js')));
}
