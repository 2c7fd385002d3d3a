import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Every command exits, also when its setup fails: the scenario's warm-up meets upstream errors
// (the simulator told to answer 400), or the port is taken. Exiting on its own within the
// timeout, non-zero, with the error's code and no stack.

const CLI = fileURLToPath(new URL('../../bin/agentperf.js', import.meta.url));

function runToEnd(args: string[], timeoutMs: number): Promise<{ code: number | null; killed: boolean; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, AGENTPERF_LOG_LEVEL: 'silent', ANTHROPIC_API_KEY: '' }, timeout: timeoutMs },
      (error, _stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, killed: Boolean(error?.killed), stderr }),
    );
  });
}

const out = async () => mkdtemp(join(tmpdir(), 'agentperf-setup-'));

const cases: Array<[string, () => Promise<string[]>]> = [
  ['load (the warm-up meets 2% upstream 400s)', async () => ['load', 'mixed', '--rate', '40', '--duration', '4s', '--set', 'faults=400:0.02']],
  ['profile', async () => ['profile', 'mixed', '--duration', '4s', '--set', 'faults=400:1', '--out', await out()]],
  ['leak', async () => ['leak', 'mixed', '--set', 'faults=400:1', '--out', await out()]],
  ['run --quick', async () => ['run', '--quick', '--metrics-port', '0', '--set', 'faults=400:1', '--out', await out()]],
];

for (const [what, args] of cases) {
  test(`${what}: a setup that fails ends the process, non-zero, with the code`, async (t) => {
    const result = await runToEnd(await args(), 90_000);
    t.false(result.killed, `still running after 90 s: ${result.stderr.slice(-500)}`);
    t.not(result.code, 0);
    t.regex(result.stderr, /AP_ERR_[A-Z_]+/);
    t.notRegex(result.stderr, /\n\s+at .*\(/, 'a code and a message, not a stack');
  });
}

test("a user's scenario whose failed setup leaves a server open: the command still ends, within its grace", async (t) => {
  const fixture = fileURLToPath(new URL('../fixtures/scenarios/hanging-setup.mjs', import.meta.url));
  const started = Date.now();
  const result = await runToEnd(['load', fixture, '--rate', '5', '--duration', '2s'], 30_000);
  t.false(result.killed, result.stderr.slice(-500));
  t.is(result.code, 4);
  t.regex(
    result.stderr,
    /AP_ERR_SCENARIO_SETUP: the setup of scenario "hanging-setup" threw: setup failed half-way, with a server left listening \(at .*hanging-setup\.mjs:\d+:\d+\)/,
  );
  t.regex(result.stderr, /exiting with handles still open/);
  t.true(Date.now() - started < 25_000);
});

// A scenario whose setup throws, or ends the process itself: one line with a code and exit 4,
// never a stack, and never the exit code the scenario chose (0 would read as success in CI).
for (const command of ['load', 'profile', 'leak'] as const) {
  const extra = command === 'load' ? ['--rate', '5', '--duration', '1s'] : command === 'profile' ? ['--duration', '1s'] : ['--rounds', '4'];
  test(`${command}: a scenario whose setup throws is one line with AP_ERR_SCENARIO_SETUP, its message and where it was thrown; exit 4`, async (t) => {
    const fixture = fileURLToPath(new URL('../fixtures/scenarios/failing-setup.ts', import.meta.url));
    const result = await runToEnd([command, fixture, ...extra, ...(command === 'load' ? [] : ['--out', await out()])], 30_000);
    t.is(result.code, 4, result.stderr);
    t.regex(
      result.stderr,
      /^agentperf: AP_ERR_SCENARIO_SETUP: the setup of scenario "failing-setup" threw: setup could not reach its target \(at .*failing-setup\.ts:\d+:\d+\)\n$/,
    );
  });
  test(`${command}: a scenario that calls process.exit(0) in its setup exits 4 with AP_ERR_SCENARIO_EXIT, never 0`, async (t) => {
    const fixture = fileURLToPath(new URL('../fixtures/scenarios/exits-in-setup.mjs', import.meta.url));
    const result = await runToEnd([command, fixture, ...extra, ...(command === 'load' ? [] : ['--out', await out()])], 30_000);
    t.is(result.code, 4, result.stderr);
    t.regex(
      result.stderr,
      command === 'leak'
        ? /AP_ERR_SCENARIO_EXIT: the leak probe's process ended \(exit code 0\) before it reported/
        : /AP_ERR_SCENARIO_EXIT: the process ended \(exit code 0\) before `agentperf (load|profile) .*` finished/,
    );
  });
}

for (const [what, args] of [
  ['serve', (port: number) => ['serve', '--port', String(port)]],
  ['run (its /metrics port)', (port: number) => ['run', '--quick', '--metrics-port', String(port)]],
] as const) {
  test(`${what} on a port that is taken exits 2 at once with AP_ERR_LISTEN naming the option`, async (t) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runToEnd(args(port), 30_000);
      t.false(result.killed, result.stderr.slice(-500));
      t.is(result.code, 2, result.stderr);
      t.regex(result.stderr, /AP_ERR_LISTEN: .*the port is in use \(EADDRINUSE\); choose another --(port|metrics-port)/);
      t.notRegex(result.stderr, /\n\s+at .*\(/);
    } finally {
      blocker.close();
    }
  });
}
