// For `node --import agentperf/register your-app.js`: starts agentperf's
// instrumentation from the environment (OTEL_* variables, AGENTPERF_METRICS_PORT) before the
// application loads, and flushes it on exit.
import { rootLogger } from '../src/logger.js';
import { startInstrumentation } from './start.js';

const port = process.env.AGENTPERF_METRICS_PORT === undefined ? undefined : Number(process.env.AGENTPERF_METRICS_PORT);
const instrumentation = await startInstrumentation({ prometheus: process.env.AGENTPERF_METRICS_PORT === 'off' ? false : { host: process.env.AGENTPERF_METRICS_HOST, port } });

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  instrumentation
    .stop()
    .catch((error: unknown) => rootLogger.warn({ err: error }, 'instrumentation did not stop cleanly'))
    .finally(() => process.kill(process.pid, signal));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('beforeExit', () => void instrumentation.stop());

export { instrumentation };
