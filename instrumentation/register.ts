// For `node --import agentperf/register your-app.js`: starts agentperf's instrumentation from
// the environment (OTEL_* variables, AGENTPERF_METRICS_PORT, AGENTPERF_FLUSH_TIMEOUT_MS) before the application loads, and
// flushes it when the application ends. Nothing here may break the application: a failure is
// logged and the application runs uninstrumented.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { rootLogger } from '../src/logger.js';
import { meterSdkStreams } from './sdk-streams.js';
import { integerFromEnv, startInstrumentation, type Instrumentation, type InstrumentationOptions } from './start.js';

/** The application's own name and version (the nearest package.json's), for service.name and service.version. */
function applicationPackage(from: string): { name: string; version?: string } | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const { name, version } = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
        return typeof name === 'string' && name ? { name, version: typeof version === 'string' ? version : undefined } : undefined;
      } catch {
        return undefined;
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

const log = rootLogger.child({ component: 'register' });

/**
 * Where an application serves /metrics: only when asked. AGENTPERF_METRICS_PORT (a port, 0 any
 * free one, `off` none) or OTEL_EXPORTER_PROMETHEUS_PORT asks for it, on AGENTPERF_METRICS_HOST
 * (else OTEL_EXPORTER_PROMETHEUS_HOST, else 127.0.0.1). Unasked, none: every process of an app
 * would otherwise race for port 9464. A port in use costs the endpoint, never the rest.
 */
function metricsEndpoint(env: NodeJS.ProcessEnv): InstrumentationOptions['prometheus'] {
  const setting = env.AGENTPERF_METRICS_PORT?.trim();
  if (setting === 'off') return false;
  const variable = setting ? 'AGENTPERF_METRICS_PORT' : env.OTEL_EXPORTER_PROMETHEUS_PORT?.trim() ? 'OTEL_EXPORTER_PROMETHEUS_PORT' : undefined;
  if (!variable) return false;
  const port = integerFromEnv(env, variable, 0, 65_535, 'a port (0 to 65535, 0 for any free one) or off')!;
  return { host: env.AGENTPERF_METRICS_HOST, port, setting: variable, onListenError: 'warn' };
}

let instrumentation: Instrumentation | undefined;
try {
  instrumentation = await startInstrumentation({
    logger: log,
    prometheus: metricsEndpoint(process.env),
    // OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win over the package's name.
    // From the app's entry script up (`node --import agentperf/register dir/app.js` run from elsewhere), else the working directory.
    service: applicationPackage(process.argv[1] ? dirname(resolve(process.argv[1])) : process.cwd()) ?? { name: 'unknown_service:node' },
    // An application asked for telemetry by loading this: the specification's default exporter.
    tracesWhenUnset: 'otlp',
    // The application's spans stay active across its awaits (its SDK calls join its traces).
    contextManager: 'async',
  });
  // Time per output chunk of the application's own SDK streams (the SDK's tracing has no per-event hook).
  await meterSdkStreams([process.argv[1] ? dirname(resolve(process.argv[1])) : process.cwd(), process.cwd()], log).catch((error: unknown) =>
    log.debug({ err: error }, "the SDK's streams are not metered per chunk"),
  );
} catch (error) {
  log.warn({ err: error }, 'agentperf instrumentation did not start; the application runs without it');
}

let stopping: Promise<void> | undefined;
const stop = () =>
  (stopping ??= (instrumentation?.stop() ?? Promise.resolve()).catch((error: unknown) => log.warn({ err: error }, 'instrumentation did not stop cleanly')));
const onSignal = (signal: NodeJS.Signals) => {
  void stop().finally(() => process.kill(process.pid, signal));
};
if (instrumentation) {
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // When the application has nothing left to do: flush, then let it end (the flush's own work
  // keeps the loop alive until it is done; beforeExit then fires again and finds it done).
  process.on('beforeExit', () => void stop());
}

export { instrumentation };
