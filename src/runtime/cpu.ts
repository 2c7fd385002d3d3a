/**
 * The CPU clocks a block reads: the whole process's (user + system, every thread: GC helpers,
 * a simulator in a worker) and the main thread's own. The main thread's is read from the kernel
 * where it can be (Linux: /proc/self/task/<tid>/schedstat, the time the thread ran, in ns), so
 * that a neighbour taking the core shows as waiting, not as work; elsewhere it is the event
 * loop's busy time, which also counts the time a busy thread spent preempted. Both are read at
 * the edges of blocks and slices, never per iteration.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export type BusySource = 'thread-cpu' | 'event-loop';

/** Something to sleep on for a moment (see `schedstatMicros`). */
const nap = new Int32Array(new SharedArrayBuffer(4));

function schedstatMicros(): number | undefined {
  try {
    // The kernel adds a running thread's time to this count only at a tick or when the thread
    // stops running: read straight, it moves in steps of the tick (4 ms here, measured), which
    // in a slice of 20 ms is ±20%. A nap of 1 µs (about 60 µs of wall time, with the timer's
    // slack) stops the thread, so the count is brought up to date before it is read.
    Atomics.wait(nap, 0, 0, 0.001);
    // The main thread's id is the process id.
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}

const threadCpuAvailable = process.platform === 'linux' && Number.isFinite(schedstatMicros());

export const MAIN_THREAD_SOURCE: BusySource = threadCpuAvailable ? 'thread-cpu' : 'event-loop';

/** Microseconds the main thread has been busy, on a clock that only moves forward. */
export function mainThreadBusyMicros(): number {
  return threadCpuAvailable ? schedstatMicros()! : performance.eventLoopUtilization().active * 1000;
}

/** Microseconds of CPU the whole process has used (user + system). */
export function processCpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** Both clocks at once, and the CPU each used since another reading. */
export interface CpuReading {
  process: number;
  mainThread: number;
}

export function readCpu(): CpuReading {
  return { process: processCpuMicros(), mainThread: mainThreadBusyMicros() };
}

export function cpuSince(start: CpuReading, end: CpuReading = readCpu()): CpuReading {
  return { process: end.process - start.process, mainThread: end.mainThread - start.mainThread };
}

/** Spins for `micros` µs of wall time on this thread: the self-test's stand-in for costlier code. */
export function busyWait(micros: number): void {
  const end = performance.now() + micros / 1000;
  while (performance.now() < end) {
    // spinning on purpose
  }
}
