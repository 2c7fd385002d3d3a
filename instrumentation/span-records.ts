import type { Attributes, HrTime, Link, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { durationOf, hrTimeOf, LightSpan } from './light-span.js';

/**
 * A finished span as plain data, for the export worker (worker-span-processor.ts): what an OTLP
 * exporter reads of a ReadableSpan, without its methods and its resource (the worker has the
 * resource once). Structured clone copies it to the worker; the main thread's part of the
 * export is this copy and nothing else.
 */
export interface SpanRecord {
  /**
   * A light span's start attributes, by the id the export worker knows them under (sent once,
   * with the message that first uses them): `attributes` then holds only the later ones.
   */
  shared?: number;
  /** A light span's times in milliseconds since the epoch, instead of the HrTimes below. */
  startMs?: number;
  endMs?: number;
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  traceFlags: number;
  /** The trace state, serialized (W3C `tracestate`), when there is one. */
  traceState?: string;
  parentSpanId?: string;
  parentRemote?: boolean;
  startTime?: HrTime;
  endTime?: HrTime;
  duration?: HrTime;
  status: SpanStatus;
  attributes: Attributes;
  events: TimedEvent[];
  links: Array<{
    traceId: string;
    spanId: string;
    traceFlags: number;
    traceState?: string;
    remote?: boolean;
    attributes?: Attributes;
    droppedAttributesCount?: number;
  }>;
  scope: InstrumentationScope;
  droppedAttributesCount: number;
  droppedEventsCount: number;
  droppedLinksCount: number;
}

/**
 * The record of a finished span. `share` gives the id of a light span's start attributes when
 * they can be sent once and referred to after (agentperf's frozen per-agent sets), else undefined.
 */
export function toSpanRecord(span: ReadableSpan, share?: (attributes: Attributes) => number | undefined): SpanRecord {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  const record: SpanRecord = {
    name: span.name,
    kind: span.kind,
    traceId: context.traceId,
    spanId: context.spanId,
    traceFlags: context.traceFlags,
    status: span.status,
    attributes: EMPTY,
    events: span.events,
    links:
      span.links.length === 0
        ? []
        : span.links.map((l) => ({
            traceId: l.context.traceId,
            spanId: l.context.spanId,
            traceFlags: l.context.traceFlags,
            traceState: l.context.traceState?.serialize(),
            remote: l.context.isRemote,
            attributes: l.attributes,
            droppedAttributesCount: l.droppedAttributesCount,
          })),
    scope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
  if (span instanceof LightSpan) {
    // Times as numbers, and the start attributes by reference when they are shared: the
    // structured clone then copies a few fields, not the whole attribute set, per span.
    record.startMs = span.startMs;
    record.endMs = span.endMs;
    const id = share?.(span.startAttributes);
    if (id !== undefined) {
      record.shared = id;
      record.attributes = span.laterAttributes ?? EMPTY;
    } else record.attributes = span.attributes;
  } else {
    record.startTime = span.startTime;
    record.endTime = span.endTime;
    record.duration = span.duration;
    record.attributes = span.attributes;
  }
  const state = context.traceState?.serialize();
  if (state) record.traceState = state;
  if (parent) {
    record.parentSpanId = parent.spanId;
    if (parent.isRemote) record.parentRemote = true;
  }
  return record;
}

const EMPTY: Attributes = Object.freeze({});

/** A trace state as the OTLP transformer reads it: only `serialize()` is called. */
const traceStateOf = (serialized: string | undefined) => (serialized ? ({ serialize: () => serialized } as SpanContext['traceState']) : undefined);

/** The ReadableSpan an exporter needs, rebuilt in the worker from a record and the process's resource. */
export function fromSpanRecord(record: SpanRecord, resource: Resource, shared?: ReadonlyMap<number, Attributes>): ReadableSpan {
  const attributes = record.shared === undefined ? record.attributes : { ...shared?.get(record.shared), ...record.attributes };
  const startTime = record.startTime ?? hrTimeOf(record.startMs!);
  const endTime = record.endTime ?? hrTimeOf(record.endMs!);
  const duration = record.duration ?? durationOf(record.endMs! - record.startMs!);
  const context: SpanContext = { traceId: record.traceId, spanId: record.spanId, traceFlags: record.traceFlags, traceState: traceStateOf(record.traceState) };
  const links: Link[] = record.links.map((l) => ({
    context: { traceId: l.traceId, spanId: l.spanId, traceFlags: l.traceFlags, traceState: traceStateOf(l.traceState), isRemote: l.remote },
    attributes: l.attributes,
    droppedAttributesCount: l.droppedAttributesCount,
  }));
  return {
    name: record.name,
    kind: record.kind,
    spanContext: () => context,
    parentSpanContext: record.parentSpanId
      ? { traceId: record.traceId, spanId: record.parentSpanId, traceFlags: record.traceFlags, isRemote: record.parentRemote }
      : undefined,
    startTime,
    endTime,
    duration,
    status: record.status,
    attributes,
    links,
    events: record.events,
    ended: true,
    resource,
    instrumentationScope: record.scope,
    droppedAttributesCount: record.droppedAttributesCount,
    droppedEventsCount: record.droppedEventsCount,
    droppedLinksCount: record.droppedLinksCount,
  };
}
