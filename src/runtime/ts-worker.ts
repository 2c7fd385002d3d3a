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
