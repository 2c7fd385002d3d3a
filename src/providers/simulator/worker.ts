import { siblingModule } from '../../runtime/self.js';
import { startModuleWorker, ownWorkerExecArgv } from '../../runtime/ts-worker.js';
import type { FaultType } from './faults.js';
import type { SimulatorOptions, SimulatorStats } from './server.js';

export interface WorkerSimulator {
  url: string;
  port: number;
  stats(): Promise<SimulatorStats>;
  scheduleFaults(faults: Array<FaultType | 'ok'>): Promise<void>;
  close(): Promise<void>;
}

/** Starts the simulator in a worker thread and resolves once it listens. */
export async function startSimulatorInWorker(options: SimulatorOptions = {}): Promise<WorkerSimulator> {
  const worker = startModuleWorker(siblingModule(import.meta.url, 'worker-entry'), options, { execArgv: ownWorkerExecArgv(process.execArgv) });
  let nextId = 0;
  const pending = new Map<number, (value: { stats?: SimulatorStats }) => void>();
  const call = (op: string, extra: object = {}) =>
    new Promise<{ stats?: SimulatorStats }>((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      worker.postMessage({ id, op, ...extra });
    });

  const ready = await new Promise<{ url: string; port: number }>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (message: { ready?: boolean; url: string; port: number; id?: number }) => {
      if (message.ready) return resolve(message);
      if (message.id !== undefined) {
        pending.get(message.id)?.(message as { stats?: SimulatorStats });
        pending.delete(message.id);
      }
    });
  });

  return {
    url: ready.url,
    port: ready.port,
    stats: async () => (await call('stats')).stats!,
    scheduleFaults: async (faults) => {
      await call('schedule', { faults });
    },
    close: async () => {
      await call('close');
      await worker.terminate();
    },
  };
}
