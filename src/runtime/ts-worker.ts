import { Worker, type WorkerOptions } from 'node:worker_threads';

const BOOTSTRAP = new URL('./ts-worker.mjs', import.meta.url);

/** A worker thread running a TypeScript module; `workerData` arrives as usual. */
export function startTsWorker(entry: URL, workerData: object = {}, options: Omit<WorkerOptions, 'workerData'> = {}): Worker {
  return new Worker(BOOTSTRAP, { ...options, workerData: { ...workerData, __entry: entry.href } });
}
