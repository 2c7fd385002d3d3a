import { parse as parseYaml } from 'yaml';
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readmeBlock, runCli } from '../helpers.ts';

const repo = (path: string) => new URL(`../../${path}`, import.meta.url);

test('init writes a config, an example scenario and the CI workflow; the workflow is the one this repository runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-init-'));
  writeFileSync(join(dir, 'tsconfig.json'), '{}');
  const { code, stdout, stderr } = await runCli(['init'], { cwd: dir });
  t.is(code, 0, stderr);
  for (const file of ['agentperf.config.json', 'scenarios/example.ts', '.github/workflows/agentperf.yml'])
    t.regex(stdout, new RegExp(`wrote ${file.replace(/\./g, '\\.')}`));
  t.is(readFileSync(join(dir, '.github/workflows/agentperf.yml'), 'utf8'), readFileSync(repo('.github/workflows/agentperf.yml'), 'utf8'));
  t.deepEqual((JSON.parse(readFileSync(join(dir, 'agentperf.config.json'), 'utf8')) as { scenarios: unknown }).scenarios, {
    example: './scenarios/example.ts',
  });
  t.is(readFileSync(join(dir, 'scenarios/example.ts'), 'utf8'), readFileSync(repo('examples/project/scenarios/example.ts'), 'utf8'));
});

test('init without a tsconfig writes a JavaScript scenario; it never overwrites without --force, and then writes nothing at all', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-init-'));
  t.is((await runCli(['init', '--dir', dir])).code, 0);
  t.true(existsSync(join(dir, 'scenarios/example.mjs')));
  t.deepEqual((JSON.parse(readFileSync(join(dir, 'agentperf.config.json'), 'utf8')) as { scenarios: unknown }).scenarios, {
    example: './scenarios/example.mjs',
  });
  // One file of the user's in the way: nothing is written, the error names it.
  const other = mkdtempSync(join(tmpdir(), 'agentperf-init-'));
  writeFileSync(join(other, 'agentperf.config.json'), '{"mine": true}');
  const refused = await runCli(['init', '--js'], { cwd: other });
  t.is(refused.code, 2);
  t.regex(refused.stderr, /AP_ERR_EXISTS: agentperf\.config\.json already exists in .*: nothing was written; use --force/);
  t.false(existsSync(join(other, 'scenarios')));
  t.is(readFileSync(join(other, 'agentperf.config.json'), 'utf8'), '{"mine": true}');
  const forced = await runCli(['init', '--js', '--force'], { cwd: other });
  t.is(forced.code, 0, forced.stderr);
  t.true(existsSync(join(other, 'scenarios/example.mjs')));
  t.not(readFileSync(join(other, 'agentperf.config.json'), 'utf8'), '{"mine": true}');
});

test('every agentperf command the shipped workflow runs exists with the options it passes, and both of its jobs are there', async (t) => {
  const workflow = readFileSync(repo('.github/workflows/agentperf.yml'), 'utf8');
  // The default branch stores the baseline as the artifact the pull-request job downloads.
  t.regex(workflow, /push:\n\s+branches: \[main, master\]/);
  t.regex(workflow, /name: agentperf-baselines\n\s+path: agentperf-baselines\//);
  t.regex(workflow, /--name agentperf-baselines --dir agentperf-baselines/);
  const commands = [...workflow.matchAll(/npx agentperf ([^\n>]+)/g)].map((m) => m[1].trim());
  t.true(commands.length >= 3, commands.join('\n'));
  for (const command of commands) {
    const words = command.split(/\s+/);
    const path = words.slice(
      0,
      words.findIndex((w) => w.startsWith('-')),
    );
    // `gate` is `gate run`, its default command, whose options its own help lists.
    const help = await runCli([...(path.join(' ') === 'gate' ? ['gate', 'run'] : path), '--help']);
    t.is(help.code, 0, command);
    for (const option of words.filter((w) => w.startsWith('--'))) t.true(help.stdout.includes(`${option} `), `${path.join(' ')} has ${option}`);
  }
});

test('the shipped workflow pins every action by commit SHA, keeps one report comment, skips it for forks, and always writes the summary', (t) => {
  const text = readFileSync(repo('.github/workflows/agentperf.yml'), 'utf8');
  const workflow = parseYaml(text) as { jobs: Record<string, { steps: Array<{ uses?: string; if?: string; name?: string; with?: { script?: string } }> }> };
  const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
  const uses = steps.filter((s) => s.uses).map((s) => s.uses!);
  t.true(uses.length >= 6);
  for (const use of uses) t.regex(use, /^[\w-]+\/[\w-]+@[0-9a-f]{40}$/, `${use} is pinned by SHA`);
  // The version stands beside each pin, as a comment.
  for (const line of text.split('\n').filter((l) => /uses: /.test(l))) t.regex(line, /@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, line);
  const comment = steps.find((s) => s.uses?.startsWith('actions/github-script@'))!;
  t.regex(comment.if!, /head\.repo\.full_name == github\.repository/, 'no comment from a fork (read-only token)');
  t.regex(comment.with!.script!, /updateComment/);
  t.regex(comment.with!.script!, /<!-- agentperf-gate -->/);
  const summary = steps.find((s) => s.name?.startsWith('the job summary'))!;
  t.is(summary.if, 'always()');
});

test("the README's project config is the one init writes, with the README's scenario in it: both gate with the same power", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-init-readme-'));
  writeFileSync(join(dir, 'tsconfig.json'), '{}');
  const { code, stderr } = await runCli(['init', '--dir', dir]);
  t.is(code, 0, stderr);
  const written = readFileSync(join(dir, 'agentperf.config.json'), 'utf8');
  t.is(readmeBlock('**3. Name it in the config**', 'json'), written.replaceAll('example', 'answer'));
});
