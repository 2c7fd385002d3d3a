import { appendFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import { listBaselines } from '../gate/baseline.js';
import { loadPolicy, type GatePolicy } from '../gate/policy.js';
import { checkoutRef, gateAgainstBaselines, gatePaired, HERE, updateBaseline, type GateResult } from '../gate/run.js';
import { formatBaselines, formatGateMarkdown } from '../report/gate.js';

export interface GateOptions {
  policyFile?: string;
  scenarios?: string[];
  against?: string;
  baselineDir: string;
  jsonFile?: string;
}

const progress = (line: string) => process.stderr.write(`${line}\n`);

/** Exit code from the verdict: 0 pass, 1 regression, 3 inconclusive (or as the policy says). */
export function exitCodeFor(result: GateResult, policy: GatePolicy): 0 | 1 | 3 {
  if (result.overall === 'FAIL') return 1;
  if (result.overall === 'PASS') return 0;
  return policy.inconclusive === 'pass' ? 0 : policy.inconclusive === 'fail' ? 1 : 3;
}

export async function gateCommand(options: GateOptions): Promise<{ markdown: string; exitCode: 0 | 1 | 3 }> {
  const policy = await loadPolicy(options.policyFile);
  let result: GateResult;
  if (options.against) {
    const checkout = await checkoutRef(options.against, progress);
    try {
      result = await gatePaired({ root: checkout.root }, { root: HERE }, policy, progress, options.scenarios, options.against);
    } finally {
      await checkout.remove();
    }
  } else {
    result = await gateAgainstBaselines(resolve(options.baselineDir), policy, progress, options.scenarios);
  }
  const markdown = formatGateMarkdown(result);
  // In GitHub Actions the report also becomes the job's summary.
  if (process.env.GITHUB_STEP_SUMMARY) await appendFile(process.env.GITHUB_STEP_SUMMARY, markdown);
  if (options.jsonFile) await writeFileAtomic(options.jsonFile, `${JSON.stringify(result, null, 2)}\n`);
  return { markdown, exitCode: exitCodeFor(result, policy) };
}

export async function baselineUpdateCommand(options: { policyFile?: string; scenarios?: string[]; blocks: number; baselineDir: string }): Promise<string[]> {
  const policy = await loadPolicy(options.policyFile);
  const names = options.scenarios ?? policy.scenarios.map((s) => s.name);
  const files: string[] = [];
  for (const name of names) files.push(await updateBaseline(resolve(options.baselineDir), policy, name, options.blocks, progress));
  return files;
}

export async function baselineShowCommand(baselineDir: string): Promise<string> {
  return formatBaselines(await listBaselines(resolve(baselineDir)));
}
