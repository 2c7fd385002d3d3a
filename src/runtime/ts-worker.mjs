// Worker threads do not inherit the tsx loader of the main thread. Every TypeScript worker
// starts here: register tsx, then import the module named in workerData.__entry.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.__entry);
