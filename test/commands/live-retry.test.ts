import test from 'ava';
import { startSimulator } from '../../src/providers/simulator/server.ts';
import { runCli } from '../helpers.ts';

// A retry's sleep may be the only thing left to do: with a 429 or 529 and retry-after, the call sleeps
// before its second attempt, the HTTP connection is idle, and a process whose timers are all
// unref'd ends there without an answer. The built CLI, against an API that limits the first request.

test('exec --live waits out a 429 with retry-after (1 s) and prints the answer of the retry', async (t) => {
  const api = await startSimulator({ faults: { rates: {}, schedule: ['429'], retryAfterMs: 1000 } });
  try {
    const result = await runCli(['exec', 'python-expert', 'Explain generators', '--live', '--no-cache', '--json'], {
      env: { ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: api.url },
      timeoutMs: 60_000,
    });
    t.is(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout) as { attempts: number; output: string };
    t.is(answer.attempts, 2, 'answered by the retry');
    t.true(answer.output.length > 0);
  } finally {
    await api.close();
  }
});
