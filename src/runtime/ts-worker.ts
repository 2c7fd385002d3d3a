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

/** Whether `execArgv` preloads modules (`--import`, `--require`, `--loader`). */
function preloads(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => PRELOAD_FLAGS.has(arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg));
}

/**
 * The `execArgv` for a worker of agentperf's own that must not run the host's preloads: none
 * at all when the host preloads modules, else undefined (Node's default: the parent's, minus
 * what workers do not support). Under `node --import agentperf/register app.js` the span
 * export worker would otherwise load `register` again, which starts an export worker, which
 * loads it again, without end. Not the parent's list minus the preloads: given explicitly,
 * Node refuses flags a worker does not support (`--expose-gc`) where it drops them when inherited.
 */
export function ownWorkerExecArgv(execArgv: readonly string[]): string[] | undefined {
  return preloads(execArgv) ? [] : undefined;
}
