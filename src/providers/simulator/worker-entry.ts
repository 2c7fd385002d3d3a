// Runs the simulator inside a worker thread, so a load generator's event loop is not shared
// with the server it measures.
import { parentPort, workerData } from 'node:worker_threads';
import { startSimulator, type SimulatorOptions } from './server.js';

const simulator = await startSimulator(workerData as SimulatorOptions);
type Request = { id: number; op: 'stats' | 'schedule' | 'close'; faults?: never };

async function answer(message: Request): Promise<void> {
  if (message.op === 'stats') parentPort!.postMessage({ id: message.id, stats: simulator.stats() });
  if (message.op === 'schedule') {
    simulator.scheduleFaults(message.faults ?? []);
    parentPort!.postMessage({ id: message.id });
  }
  if (message.op === 'close') {
    await simulator.close();
    parentPort!.postMessage({ id: message.id });
    parentPort!.close();
  }
}

// A failure to close is the worker's to report: it ends the worker (an unhandled rejection), as before.
parentPort!.on('message', (message: Request) => void answer(message));
parentPort!.postMessage({ ready: true, url: simulator.url, port: simulator.port });
