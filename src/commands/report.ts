import { Command } from 'commander';
import { dirname, relative, resolve } from 'node:path';
import { readRunRecord, writeRunReports, type RunFiles } from './run-files.js';
import { print } from './options.js';

/**
 * `agentperf report <run.json>`: re-renders a run's HTML and Markdown reports. The flamegraph
 * and profile stay beside run.json, so reports written elsewhere link back there.
 */
export async function run(file: string, outDir?: string): Promise<RunFiles> {
  const record = await readRunRecord(file);
  const dir = outDir ?? dirname(file);
  const linkFrom = (path: string) => relative(resolve(dir), resolve(dirname(file), path));
  record.profile = {
    ...record.profile,
    cpuprofile: linkFrom(record.profile.cpuprofile),
    flamegraph: record.profile.flamegraph && linkFrom(record.profile.flamegraph),
  };
  return writeRunReports(record, dir, { json: false });
}

/** The flags as commander parses them (its action's options are untyped). */
interface ReportFlags {
  out?: string;
}

export const command = new Command('report')
  .description('re-render the HTML and Markdown reports of a run from its run.json')
  .argument('<run.json>', 'the run record written by agentperf run')
  .option('--out <dir>', 'where to write report.html and report.md (default: beside the run.json)')
  .action(async (file: string, opts: ReportFlags) => {
    const files = await run(file, opts.out);
    print(`${files.html}\n${files.markdown}`);
  });
