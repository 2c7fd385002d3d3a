import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { ControlledProvider, TEST_AGENTS, waitFor } from '../helpers.ts';

const fixture = fileURLToPath(new URL('../fixtures/close-exits.ts', import.meta.url));

test('after close() a process with the simulator, the SDK and sockets exits on its own', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  // A hard stop far beyond the expected second or two: if it fires, a handle was left open.
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  clearTimeout(killer);
  t.is(signal, null, 'the child had to be killed: something kept it alive');
  t.is(code, 0);
  t.regex(stdout, /calls=20 ok=20/);
});

test('close() rejects queued calls, waits for those in flight, then refuses new ones', async (t) => {
  const provider = new ControlledProvider();
  const orchestrator = new Orchestrator({ agents: TEST_AGENTS, provider, maxConcurrent: 1 });
  const running = orchestrator.executeAgent('python-expert', 'running');
  const queued = orchestrator.executeAgent('python-expert', 'queued');
  await waitFor(() => provider.pending.length === 1, 'the first call');
  const closing = orchestrator.close();
  const rejected = await t.throwsAsync(queued);
  t.is((rejected as { code?: string }).code, 'AP_ERR_CLOSED');
  provider.answerNext();
  await closing;
  t.is((await running).agent, 'python-expert');
  t.true(provider.closed);
  const late = await t.throwsAsync(orchestrator.executeAgent('python-expert', 'late'));
  t.is((late as { code?: string }).code, 'AP_ERR_CLOSED');
});
