import test from 'ava';
import { withoutPreloads } from '../../src/runtime/ts-worker.ts';

test("an own worker's execArgv drops the host's preloads, with their values, and keeps every other flag", (t) => {
  t.deepEqual(withoutPreloads(['--import', 'agentperf/register', '--max-old-space-size=512', '--require=./trace.cjs', '-r', 'dotenv/config', '--loader', 'tsx', '--experimental-loader=x', '--enable-source-maps']), ['--max-old-space-size=512', '--enable-source-maps']);
  t.deepEqual(withoutPreloads([]), []);
  t.deepEqual(withoutPreloads(['--inspect']), ['--inspect']);
});
