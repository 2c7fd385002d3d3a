/**
 * Which agentperf measures a side of a paired gate. Each side's blocks must load one module
 * graph: if the base side's blocks ran this agentperf while the base's scenario imported the
 * base's own `agentperf` (and, through it and the user's code, its own SDK and OpenTelemetry),
 * that side alone would hold two copies of them, and its memory would look some 10% heavier in
 * every A/A run. So each side runs the agentperf installed in its own project, when that one
 * speaks this agentperf's block protocol; otherwise this one, and the report says so.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BLOCK_PROTOCOL } from '../measure/block.js';
import { runNodeForJson } from '../runtime/json-child.js';
import { cliNodeArgs, PACKAGE_ROOT, VERSION } from '../runtime/self.js';
import { ErrorCode } from '../errors.js';

export interface SideRunner {
  /** The `node` arguments that run the side's agentperf CLI. */
  cli: string[];
  /** Which agentperf that is: its version and package directory, and whether it is the side's own. */
  version: string;
  packageRoot: string;
  own: boolean;
  /** Why the side is not measured by its own agentperf, when it is not. */
  note?: string;
}

/** This agentperf: the one running the gate. */
export function thisRunner(): SideRunner {
  return { cli: cliNodeArgs(), version: VERSION, packageRoot: PACKAGE_ROOT, own: true };
}

/** The agentperf package the project at `root` resolves `agentperf` to, if any (its own package, in agentperf's repository). */
export function installedAgentperf(root: string): string | undefined {
  try {
    return dirname(createRequire(join(root, 'package.json')).resolve('agentperf/package.json'));
  } catch {
    return undefined;
  }
}

/**
 * The runner for the side whose project is at `root`: its own agentperf when it has one that
 * speaks `BLOCK_PROTOCOL`, else this one with a note.
 */
export async function sideRunner(root: string): Promise<SideRunner> {
  const here = thisRunner();
  const installed = installedAgentperf(root);
  if (!installed) return { ...here, own: false, note: `${root} has no agentperf installed: measured by this agentperf (${VERSION})` };
  if (installed === PACKAGE_ROOT) return here;
  const bin = join(installed, 'bin', 'agentperf.js');
  const version = readVersion(installed);
  if (!existsSync(bin))
    return { ...here, own: false, note: `the agentperf installed at ${installed} has no bin/agentperf.js: measured by this agentperf (${VERSION})` };
  try {
    const spoken = await runNodeForJson<{ protocol?: unknown }>([bin, 'gate', 'protocol'], {
      cwd: root,
      code: ErrorCode.GATE_BLOCK,
      what: `agentperf ${version} at ${installed}`,
    });
    if (spoken.protocol === BLOCK_PROTOCOL) return { cli: [bin], version, packageRoot: installed, own: true };
    return {
      ...here,
      own: false,
      note: `its own agentperf (${version}) speaks block protocol ${String(spoken.protocol)}, this one ${BLOCK_PROTOCOL}: measured by this agentperf (${VERSION}), so that side loads two copies of agentperf and what it imports (its memory may read a little higher)`,
    };
  } catch {
    return {
      ...here,
      own: false,
      note: `its own agentperf (${version}) has no block protocol this one speaks: measured by this agentperf (${VERSION}), so that side loads two copies of agentperf and what it imports (its memory may read a little higher)`,
    };
  }
}

function readVersion(packageRoot: string): string {
  try {
    const { version } = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}
