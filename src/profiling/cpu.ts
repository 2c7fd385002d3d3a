import { Session } from 'node:inspector/promises';

/** The V8 CPU profile format (`.cpuprofile`): what Chrome DevTools and speedscope open. */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number };
    hitCount?: number;
    children?: number[];
  }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface CpuProfilerOptions {
  /** Sampling interval in microseconds. Default 1,000 (1 ms). */
  intervalUs?: number;
}

/**
 * The in-process CPU profiler (V8's sampling profiler through `node:inspector`). The interval
 * must be set before the profiler starts: V8 ignores a change while it runs.
 */
export class CpuProfiler {
  private readonly session = new Session();
  private running = false;

  async start(options: CpuProfilerOptions = {}): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: options.intervalUs ?? 1000 });
    await this.session.post('Profiler.start');
    this.running = true;
  }

  async stop(): Promise<CpuProfile> {
    if (!this.running) throw new Error('the CPU profiler is not running');
    const { profile } = await this.session.post('Profiler.stop');
    this.running = false;
    await this.session.post('Profiler.disable');
    this.session.disconnect();
    return profile as unknown as CpuProfile;
  }
}

/**
 * Profiles one function (the seeds' `@profile` decorator, as a wrapper): its result and the
 * CPU profile of the time it ran.
 */
export async function withCpuProfile<T>(fn: () => T | Promise<T>, options: CpuProfilerOptions = {}): Promise<{ result: T; profile: CpuProfile }> {
  const profiler = new CpuProfiler();
  await profiler.start(options);
  let result: T;
  try {
    result = await fn();
  } catch (error) {
    await profiler.stop();
    throw error;
  }
  return { result, profile: await profiler.stop() };
}
