// One worker of `load --workers N`: sets its scenario up, says it is ready, waits for the
// common start, runs its share of the load and posts its report and histograms back.
import { parentPort, workerData } from 'node:worker_threads';
import { rootLogger } from '../logger.js';
import { runLoadTest } from './run.js';
import { resolveScenario } from '../scenarios/index.js';
import type { WorkerPlan } from './workers.js';

const plan = workerData as WorkerPlan;
const port = parentPort!;
// 'go' starts the schedule (every worker at once); 'abort' (Ctrl-C) stops it, and what ran is reported.
const controller = new AbortController();
const go = new Promise<void>((resolve) =>
  port.on('message', (message: { kind: string }) => {
    if (message.kind === 'abort') controller.abort();
    resolve();
  }),
);

try {
  const scenario = await resolveScenario(plan.scenario);
  const outcome = await runLoadTest({
    scenario,
    context: { target: plan.target, settings: plan.settings, seed: plan.seed, log: rootLogger.child({ component: 'load', worker: plan.index }) },
    shape: plan.shape,
    warmupMs: plan.warmupMs,
    iterations: plan.iterations,
    drainTimeoutMs: plan.drainTimeoutMs,
    thresholds: [],
    signal: controller.signal,
    beforeRun: async () => {
      port.postMessage({ kind: 'ready' });
      await go;
    },
  });
  port.postMessage({ kind: 'done', outcome });
} catch (error) {
  const e = error as { code?: string; message?: string; field?: string; exitCode?: number };
  port.postMessage({ kind: 'failed', error: { message: String(e?.message ?? error), code: e?.code, field: e?.field, exitCode: e?.exitCode } });
}
