import { Worker, type WorkerOptions } from 'node:worker_threads';
import { FROM_SOURCE } from './self.js';

// Worker threads do not inherit the tsx loader of the main thread: from source, a worker
// starts in this bootstrap, which registers tsx and then imports the module. Built, the module
// is JavaScript and starts directly.
const BOOTSTRAP = new URL('./ts-worker.mjs', import.meta.url);

/** A worker thread running one of agentperf's own modules (`.ts` from source, `.js` built); `workerData` arrives as usual. */
export function startModuleWorker(entry: URL, workerData: object = {}, options: Omit<WorkerOptions, 'workerData'> = {}): Worker {
  if (!FROM_SOURCE) return new Worker(entry, { ...options, workerData });
  return new Worker(BOOTSTRAP, { ...options, workerData: { ...workerData, __entry: entry.href } });
}

const PRELOAD_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/**
 * `execArgv` without the modules the host preloads (`--import`, `--require`, `--loader`, with
 * their values): a worker of agentperf's own that must not run them. Under
 * `node --import agentperf/register app.js` the span export worker would otherwise load
 * `register` again, which starts an export worker, which loads it again, without end.
 */
export function withoutPreloads(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const flag = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
    if (PRELOAD_FLAGS.has(flag)) {
      if (!arg.includes('=')) i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}
