import test from 'ava';
import { ownWorkerExecArgv } from '../../src/runtime/ts-worker.ts';

test("an own worker runs none of the host's preloads: no flags at all when the host preloads, else Node's inherited default", (t) => {
  for (const host of [
    ['--import', 'agentperf/register'],
    ['--require=./trace.cjs', '--expose-gc'],
    ['-r', 'dotenv/config'],
    ['--loader', 'tsx'],
    ['--experimental-loader=x', '--enable-source-maps'],
  ]) {
    t.deepEqual(ownWorkerExecArgv(host), [], host.join(' '));
  }
  t.is(ownWorkerExecArgv([]), undefined);
  t.is(ownWorkerExecArgv(['--expose-gc', '--max-old-space-size=512']), undefined, 'inherited: Node drops what workers do not support');
});
