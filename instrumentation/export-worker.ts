/**
 * The export worker's thread (started by worker-span-processor.ts): it receives finished spans
 * as plain records in batches, rebuilds what an exporter reads, and runs the OpenTelemetry OTLP
 * exporter here, batching and serializing off the main thread. One export at a time; batches
 * of `maxExportBatchSize`, at least every `scheduledDelayMillis`. It tells the main thread how
 * many spans it took off its queue, so the main thread can bound the queue without blocking.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Attributes } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { rootLogger } from '../src/logger.js';
import { otlpSpanExporter } from './exporters.js';
import { fromSpanRecord } from './span-records.js';
import type { ExportWorkerSettings, ToMain, ToWorker } from './worker-span-processor.js';

const settings = workerData as ExportWorkerSettings;
const port = parentPort!;
const send = (message: ToMain) => port.postMessage(message);
const log = rootLogger.child({ component: 'span-export-worker' });

let exporter: SpanExporter;
try {
  exporter = await otlpSpanExporter(process.env, log);
} catch (error) {
  send({ type: 'error', message: (error as Error).message, variable: (error as { field?: string }).field });
  process.exit(0);
}

let resource: Resource = resourceFromAttributes({});
/** Start-attribute sets the main thread sent once and refers to by id. */
const shared = new Map<number, Attributes>();
const queue: ReadableSpan[] = [];
const stats = { exported: 0, failed: 0 };
let exporting: Promise<void> | undefined;
let timer: NodeJS.Timeout | undefined;

function exportBatch(spans: ReadableSpan[]): Promise<void> {
  return new Promise((resolve) => {
    exporter.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) stats.exported += spans.length;
      else {
        stats.failed += spans.length;
        log.warn({ err: result.error, spans: spans.length }, 'span export failed; the spans are dropped');
      }
      send({ type: 'consumed', count: spans.length });
      resolve();
    });
  });
}

/** Exports what is queued, batch by batch, until the queue is empty (or only a part batch is left, unless `all`). */
function drain(all: boolean): Promise<void> {
  if (exporting) return exporting.then(() => drain(all));
  if (queue.length === 0 || (!all && queue.length < settings.maxExportBatchSize)) return Promise.resolve();
  exporting = (async () => {
    while (queue.length >= (all ? 1 : settings.maxExportBatchSize)) await exportBatch(queue.splice(0, settings.maxExportBatchSize));
  })().finally(() => (exporting = undefined));
  return exporting;
}

function schedule(): void {
  if (timer || queue.length === 0) return;
  timer = setTimeout(() => {
    timer = undefined;
    void drain(true).then(schedule);
  }, settings.scheduledDelayMillis);
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'spans':
      if (message.resource) resource = resourceFromAttributes(message.resource.attributes, { schemaUrl: message.resource.schemaUrl });
      for (const [id, attributes] of message.shared ?? []) shared.set(id, attributes);
      for (const record of message.spans) queue.push(fromSpanRecord(record, resource, shared));
      void drain(false);
      schedule();
      break;
    case 'flush':
      void drain(true).then(() => send({ type: 'flushed', id: message.id, ...stats }));
      break;
    case 'shutdown':
      void drain(true)
        .then(() => exporter.shutdown())
        .catch((error: unknown) => log.warn({ err: error }, 'span exporter did not shut down cleanly'))
        .then(() => {
          clearTimeout(timer);
          send({ type: 'flushed', id: message.id, ...stats });
          port.close();
        });
      break;
  }
});
send({ type: 'ready' });
