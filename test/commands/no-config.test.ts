import test from 'ava';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers.ts';

// Outside any project (no agentperf config from the directory upward), a command says so and
// what it works with instead; `baseline update` refuses to store agentperf's own demo as the
// directory's baseline unless a scenario is named.

test('outside a project: baseline update refuses (exit 2, naming the way out) and writes nothing; load says it found no config', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-no-config-'));
  const update = await runCli(['baseline', 'update', '--blocks', '3'], { cwd: dir, timeoutMs: 60_000 });
  t.is(update.code, 2, update.stderr);
  t.regex(
    update.stderr,
    /AP_ERR_USAGE: no agentperf config was found from .* upward .*baseline update would store agentperf's built-in demo scenario as this directory's baseline\. Run it in your project, write a config \(npx agentperf init\), or name the scenario to store \(--scenario mixed\)/,
  );
  t.false(existsSync(join(dir, 'baselines')), 'nothing written');

  const load = await runCli(['load', 'mixed', '--vus', '1', '--duration', '500ms', '--warmup', '0s', '--no-progress'], { cwd: dir, timeoutMs: 60_000 });
  t.is(load.code, 0, load.stderr);
  t.regex(
    load.stderr,
    /no config found from .* upward \(agentperf\.config\.ts, .*agentperf\.config\.json, or an "agentperf" key in package\.json\): only agentperf's built-in scenarios and module paths can be named/,
  );
});
