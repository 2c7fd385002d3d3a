import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { ErrorCode, ValidationError } from '../errors.js';
import { writeFilesAtomic } from '../files/atomic.js';
import { packageFile } from '../runtime/self.js';
import { print } from './options.js';

export interface InitOptions {
  /** The project's directory (default: the current one). */
  dir: string;
  /** The example scenario's language; default: TypeScript when the project has a tsconfig.json. */
  language?: 'ts' | 'js';
  force: boolean;
}

export interface InitResult {
  dir: string;
  written: string[];
}

/** The files `init` writes, relative to the project, and where their content comes from in agentperf's package. */
function plan(language: 'ts' | 'js'): Array<{ to: string; from: string; edit?: (text: string) => string }> {
  const scenario = language === 'ts' ? 'scenarios/example.ts' : 'scenarios/example.mjs';
  return [
    { to: 'agentperf.config.json', from: 'examples/project/agentperf.config.json', edit: (text) => text.replace('./scenarios/example.ts', `./${scenario}`) },
    { to: scenario, from: 'examples/project/scenarios/example.ts' },
    // The very file agentperf's own repository runs in CI.
    { to: '.github/workflows/agentperf.yml', from: '.github/workflows/agentperf.yml' },
  ];
}

/**
 * `agentperf init`: a starter config, an example scenario and the CI workflow, written into
 * the user's project. Nothing is overwritten without `force`: when any file exists, none is
 * written and the error names them.
 */
export async function run(options: InitOptions): Promise<InitResult> {
  const dir = resolve(options.dir);
  const language = options.language ?? (existsSync(join(dir, 'tsconfig.json')) ? 'ts' : 'js');
  const files = plan(language);
  const existing = files.filter((f) => existsSync(join(dir, f.to))).map((f) => f.to);
  if (existing.length > 0 && !options.force) {
    throw new ValidationError(
      ErrorCode.EXISTS,
      'force',
      `${existing.join(', ')} already ${existing.length === 1 ? 'exists' : 'exist'} in ${dir}: nothing was written; use --force to overwrite`,
    );
  }
  const contents = await Promise.all(files.map(async (f) => ({ ...f, text: (f.edit ?? ((t: string) => t))(await readFile(packageFile(f.from), 'utf8')) })));
  await writeFilesAtomic(contents.map((f) => ({ file: join(dir, f.to), content: f.text })));
  return { dir, written: files.map((f) => f.to) };
}

/** The flags as commander parses them (its action's options are untyped). */
interface InitFlags {
  dir: string;
  force?: boolean;
  js?: boolean;
  ts?: boolean;
}

export const command = new Command('init')
  .description('write a starter agentperf.config.json, an example scenario and the CI workflow into this project')
  .option('--dir <dir>', 'the project directory', '.')
  .option('--ts', 'write the example scenario in TypeScript (default when the project has a tsconfig.json)')
  .option('--js', 'write the example scenario in JavaScript (an ES module)')
  .option('--force', 'overwrite files that exist')
  .action(async (opts: InitFlags) => {
    const result = await run({ dir: opts.dir, language: opts.ts ? 'ts' : opts.js ? 'js' : undefined, force: Boolean(opts.force) });
    const where = relative(process.cwd(), result.dir) || '.';
    print(
      [
        ...result.written.map((f) => `wrote ${join(where, f)}`),
        '',
        'next:',
        '  npx agentperf load example --rate 50 --duration 10s   # the example scenario under load',
        "  npx agentperf baseline update                          # record this machine class's baseline",
        '  npx agentperf gate --against HEAD~1                    # the paired gate, as CI runs it',
        '  add profiles/ to .gitignore; commit baselines/ and the workflow',
      ].join('\n'),
    );
  });
