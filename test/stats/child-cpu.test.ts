import test from 'ava';
import { withChildCpu } from '../../src/bench/child-cpu.ts';

test("withChildCpu counts the CPU a child spent (against the child's own count) and returns its output", async (t) => {
  // A fixed amount of work (not a wall-clock loop: on a busy machine that would measure less).
  const script =
    'let x = 0; for (let i = 0; i < 3e8; i++) x += i % 7; const u = process.cpuUsage(); console.log(JSON.stringify({ x, cpuUs: u.user + u.system }))';
  const busy = await withChildCpu(process.execPath, ['-e', script]);
  const own = JSON.parse(busy.out) as { cpuUs: number };
  t.true(own.cpuUs > 100_000, `the child worked ${own.cpuUs} µs`);
  // The shell's count includes the child's exit; its resolution is one 10 ms tick.
  t.true(busy.cpuUs >= own.cpuUs - 20_000 && busy.cpuUs <= own.cpuUs + 150_000, `measured ${busy.cpuUs} µs, the child counted ${own.cpuUs} µs`);
  const idle = await withChildCpu('sleep', ['0.3']);
  t.true(idle.cpuUs < 50_000, `${idle.cpuUs} µs for a sleep`);
});
