/**
 * What every metric export goes through on its way out: one `agentperf` scope per export, and
 * for Prometheus, names that carry their units.
 *
 * - **One scope.** agentperf's metrics come from two places, the SDK's meter and the
 *   pre-aggregated histograms' producer (preaggregated.ts), which the SDK's reader appends as a
 *   second ScopeMetrics with the same scope. Exports merge scopes that are the same (name,
 *   version, schema URL) into one, so a backend sees one `agentperf` scope, not two.
 * - **Units in Prometheus names**, as the OpenTelemetry-to-Prometheus compatibility
 *   specification (and Prometheus's own otlptranslator) do it: the UCUM unit becomes a word
 *   (`s` -> `seconds`, `By` -> `bytes`) appended to the name unless the name already ends with
 *   it, before a counter's `_total`; a unit in braces (`{call}`) is an annotation and adds
 *   nothing. The `# UNIT` line then names a family that ends with its unit, as OpenMetrics
 *   requires; there is none where it could not be valid (no unit word; a counter, whose written
 *   name ends in `_total`). The exporter package (0.223) writes `# UNIT name s` with no suffix.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { diag } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import {
  DataPointType,
  type MetricData,
  type MetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';

/** UCUM units as Prometheus names spell them (the specification's table, as otlptranslator has it). */
const UNIT_WORDS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    d: 'days',
    h: 'hours',
    min: 'minutes',
    s: 'seconds',
    ms: 'milliseconds',
    us: 'microseconds',
    ns: 'nanoseconds',
    By: 'bytes',
    KiBy: 'kibibytes',
    MiBy: 'mebibytes',
    GiBy: 'gibibytes',
    TiBy: 'tibibytes',
    KBy: 'kilobytes',
    MBy: 'megabytes',
    GBy: 'gigabytes',
    TBy: 'terabytes',
    m: 'meters',
    V: 'volts',
    A: 'amperes',
    J: 'joules',
    W: 'watts',
    g: 'grams',
    Cel: 'celsius',
    Hz: 'hertz',
    '%': 'percent',
  }),
);
/** The denominators of a rate unit (`By/s` -> `bytes_per_second`). */
const PER_WORDS: ReadonlyMap<string, string> = new Map(Object.entries({ s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' }));

/**
 * The word a Prometheus name carries for an OpenTelemetry unit, or undefined for none: an
 * annotation (`{token}`) or a dimensionless `1` (the specification's `_ratio` is for gauges of
 * fractions, which agentperf has none of), or a unit outside the table (kept off the name
 * rather than spelled wrongly).
 */
export function prometheusUnitWord(unit: string | undefined): string | undefined {
  const bare = (unit ?? '').replace(/\{[^}]*\}/g, '').trim();
  if (bare === '' || bare === '1') return undefined;
  const [numerator, denominator, ...rest] = bare.split('/');
  if (rest.length > 0) return undefined;
  const top = UNIT_WORDS.get(numerator);
  if (denominator === undefined) return top;
  const bottom = PER_WORDS.get(denominator);
  return top && bottom ? `${top}_per_${bottom}` : undefined;
}

/** The Prometheus name (before `_total`) that `name` with `unit` gets: dots and other characters to underscores, the unit word appended once. */
export function prometheusBaseName(name: string, unit: string | undefined): string {
  const sanitized = name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_{2,}/g, '_');
  const word = prometheusUnitWord(unit);
  return word && !sanitized.endsWith(`_${word}`) ? `${sanitized}_${word}` : sanitized;
}

const scopeKey = (s: ScopeMetrics) => `${s.scope.name}\u0000${s.scope.version ?? ''}\u0000${s.scope.schemaUrl ?? ''}`;

/** `metrics` with the scope metrics of one scope merged into one (first seen order kept). */
export function mergeScopes(metrics: ResourceMetrics): ResourceMetrics {
  const byScope = new Map<string, ScopeMetrics>();
  for (const scope of metrics.scopeMetrics) {
    const key = scopeKey(scope);
    const seen = byScope.get(key);
    if (seen) byScope.set(key, { scope: seen.scope, metrics: [...seen.metrics, ...scope.metrics] });
    else byScope.set(key, scope);
  }
  return byScope.size === metrics.scopeMetrics.length ? metrics : { resource: metrics.resource, scopeMetrics: [...byScope.values()] };
}

/** A metric renamed for Prometheus (the serializer makes dots underscores and adds `_total`); its unit the word, or none where a `# UNIT` line could not be valid. */
function forPrometheus(metric: MetricData): MetricData {
  const word = prometheusUnitWord(metric.descriptor.unit);
  const counter = metric.dataPointType === DataPointType.SUM && metric.isMonotonic;
  const name = prometheusBaseName(metric.descriptor.name, metric.descriptor.unit);
  const unit = word && !counter ? word : '';
  if (name === metric.descriptor.name && unit === metric.descriptor.unit) return metric;
  return { ...metric, descriptor: { ...metric.descriptor, name, unit } };
}

/** One scrape's text: scopes merged, names with their units. */
export function prometheusText(metrics: ResourceMetrics, serializer = new PrometheusSerializer()): string {
  const merged = mergeScopes(metrics);
  return serializer.serialize({
    resource: merged.resource,
    scopeMetrics: merged.scopeMetrics.map((s) => ({ scope: s.scope, metrics: s.metrics.map(forPrometheus) })),
  });
}

/** Answers a Prometheus scrape from `reader` (the exporter's own handler writes names without units). */
export function prometheusScrapeHandler(reader: MetricReader): (request: IncomingMessage, response: ServerResponse) => void {
  const serializer = new PrometheusSerializer();
  return (_request, response) => {
    reader.collect().then(
      ({ resourceMetrics, errors }) => {
        if (errors.length > 0) diag.error('agentperf: metrics collection errors', ...errors);
        response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(prometheusText(resourceMetrics, serializer));
      },
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`# failed to export metrics: ${String(error)}\n`),
    );
  };
}

/**
 * A push exporter (OTLP, console) that sends one ScopeMetrics per scope, and whose last export,
 * at shutdown, can go through a second exporter made with the shutdown's time bound: an OTLP
 * exporter retries a collector that is not there until its own timeout (10 s by default), on
 * timers nobody can cancel that hold the process open, so a bound on waiting alone does not let
 * a one-shot script exit (measured: 8.1 s with AGENTPERF_FLUSH_TIMEOUT_MS at 1 s).
 */
export class ScopeMergingExporter implements PushMetricExporter {
  private finishing = false;
  selectAggregationTemporality?: PushMetricExporter['selectAggregationTemporality'];
  selectAggregation?: PushMetricExporter['selectAggregation'];

  constructor(
    private readonly regular: PushMetricExporter,
    private readonly last?: PushMetricExporter,
  ) {
    if (regular.selectAggregationTemporality) this.selectAggregationTemporality = regular.selectAggregationTemporality.bind(regular);
    if (regular.selectAggregation) this.selectAggregation = regular.selectAggregation.bind(regular);
  }

  /** Exports from here on (the one the reader makes as it shuts down) go through the bounded exporter. */
  finish(): void {
    this.finishing = true;
  }

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    (this.finishing && this.last ? this.last : this.regular).export(mergeScopes(metrics), done);
  }

  async forceFlush(): Promise<void> {
    await (this.finishing && this.last ? this.last : this.regular).forceFlush();
  }

  async shutdown(): Promise<void> {
    await Promise.all([this.regular.shutdown(), this.last?.shutdown()]);
  }
}
