import { TraceFlags, type Attributes } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Worker } from 'node:worker_threads';
import { ConfigError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import { siblingModule } from '../src/runtime/self.js';
import { startModuleWorker, ownWorkerExecArgv } from '../src/runtime/ts-worker.js';
import { toSpanRecord, type SpanRecord } from './span-records.js';

/**
 * A span processor that exports OTLP from a worker thread (export-worker.ts): the main thread
 * copies each sampled, finished span into a plain record and posts them in batches; batching
 * into export requests, protobuf serialization and HTTP run in the worker (with the SDK's
 * BatchSpanProcessor, OTLP serialization cost 8-10 µs of main-thread CPU per span, as issue 24
 * measured it).
 *
 * The queue is bounded (`maxQueueSize`: spans posted and not yet exported, plus those waiting
 * to be posted). A span that finds it full is dropped and counted, never waited for: a slow or
 * absent collector costs the app spans, not latency. Settings follow the BatchSpanProcessor's
 * variables (OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
 * OTEL_BSP_SCHEDULE_DELAY); the exporter is made in the worker from the same OTEL_EXPORTER_OTLP_*
 * variables (a worker has the process's environment).
 */

export interface ExportWorkerSettings {
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
}

export type ToWorker =
  | {
      type: 'spans';
      spans: SpanRecord[];
      resource?: { attributes: Attributes; schemaUrl?: string };
      /** Start attribute sets the records refer to by id, sent once. */ shared?: Array<[number, Attributes]>;
    }
  | { type: 'flush'; id: number }
  | { type: 'shutdown'; id: number };

export type ToMain =
  | { type: 'ready' }
  | { type: 'error'; message: string; variable?: string }
  | { type: 'consumed'; count: number }
  | { type: 'flushed'; id: number; exported: number; failed: number };

export interface WorkerExportStats {
  /** Spans the exporter delivered, and spans it failed to deliver (dropped after the attempt). */
  exported: number;
  failed: number;
  /** Spans dropped on the main thread because the queue was full. */
  dropped: number;
}

/** Spans posted to the worker together (one structured clone and one message each). */
const POST_BATCH = 128;
/** Distinct shared attribute sets the worker keeps. */
const MAX_SHARED = 4096;
/** At most this long between a span's end and its post, in ms. */
const POST_DELAY_MS = 200;

function positiveInteger(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value.trim() !== '' && Number.isInteger(n) && n > 0 ? n : fallback;
}

/** The BatchSpanProcessor's settings from its OTEL_BSP_* variables (its defaults otherwise). */
export function exportSettingsFromEnv(env: NodeJS.ProcessEnv): ExportWorkerSettings {
  const maxQueueSize = positiveInteger(env.OTEL_BSP_MAX_QUEUE_SIZE, 2048);
  return {
    maxQueueSize,
    maxExportBatchSize: Math.min(maxQueueSize, positiveInteger(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512)),
    scheduledDelayMillis: positiveInteger(env.OTEL_BSP_SCHEDULE_DELAY, 5000),
  };
}

export class WorkerSpanProcessor implements SpanProcessor {
  private pending: SpanRecord[] = [];
  /** Posted to the worker and not yet exported (or failed). */
  private outstanding = 0;
  private dropped = 0;
  /** The spans' resource (one per process), and the one the worker was last sent. */
  private resource: Resource | undefined;
  private sentResource: Resource | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextId = 0;
  private readonly replies = new Map<number, (stats: WorkerExportStats) => void>();
  private closed = false;
  /**
   * Frozen start-attribute sets (agentperf's, built once per agent) by the id the worker knows
   * them under; the new ones go with the next post. At most MAX_SHARED ids: past that, inline.
   */
  private readonly sharedIds = new WeakMap<Attributes, number>();
  private newShared: Array<[number, Attributes]> = [];
  private nextSharedId = 0;
  private readonly share = (attributes: Attributes): number | undefined => {
    let id = this.sharedIds.get(attributes);
    if (id !== undefined) return id;
    if (!Object.isFrozen(attributes) || this.nextSharedId >= MAX_SHARED) return undefined;
    id = this.nextSharedId++;
    this.sharedIds.set(attributes, id);
    this.newShared.push([id, attributes]);
    return id;
  };
  /** Whether ended spans are exported: the overhead breakdown turns it off to measure the export on its own. */
  exporting = true;

  private constructor(
    private readonly worker: Worker,
    private readonly settings: ExportWorkerSettings,
    log?: Logger,
  ) {
    // A worker that dies (out of memory, a bug) ends export, never the app: spans from then on
    // are dropped and counted, and whoever waits for a flush gets what was counted.
    worker.on('error', (error) => {
      log?.warn({ err: error }, 'the span export worker stopped; spans are dropped from here');
      this.closed = true;
      for (const reply of this.replies.values()) reply({ exported: 0, failed: 0, dropped: this.dropped });
      this.replies.clear();
    });
    worker.on('message', (message: ToMain) => {
      if (message.type === 'consumed') this.outstanding -= message.count;
      else if (message.type === 'flushed') {
        this.replies.get(message.id)?.({ exported: message.exported, failed: message.failed, dropped: this.dropped });
        this.replies.delete(message.id);
        if (this.replies.size === 0) worker.unref();
      }
    });
    // The worker never holds the process: spans left when the app ends are flushed by shutdown().
    worker.unref();
  }

  /** Starts the worker and its exporter; a malformed endpoint is an AP_ERR_CONFIG naming the variable, as on the main thread. */
  static async start(settings: ExportWorkerSettings, log?: Logger): Promise<WorkerSpanProcessor> {
    const worker = startModuleWorker(siblingModule(import.meta.url, 'export-worker'), settings, { execArgv: ownWorkerExecArgv(process.execArgv) });
    const first = await new Promise<ToMain>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', resolve);
    });
    if (first.type === 'error') {
      await worker.terminate();
      throw new ConfigError(first.variable ?? 'OTEL_EXPORTER_OTLP_ENDPOINT', first.message);
    }
    return new WorkerSpanProcessor(worker, settings, log);
  }

  onStart(_span: Span): void {}

  onEnd(span: ReadableSpan): void {
    if (!this.exporting || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.closed || this.outstanding + this.pending.length >= this.settings.maxQueueSize) {
      this.dropped++;
      return;
    }
    this.pending.push(toSpanRecord(span, this.share));
    this.resource = span.resource;
    if (this.pending.length >= POST_BATCH) this.post();
    else this.timer ??= setTimeout(() => this.post(), POST_DELAY_MS).unref();
  }

  private post(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const resource = this.resource;
    if (this.pending.length === 0 || !resource) return;
    const message: Extract<ToWorker, { type: 'spans' }> = { type: 'spans', spans: this.pending };
    if (this.newShared.length > 0) {
      message.shared = this.newShared;
      this.newShared = [];
    }
    if (resource !== this.sentResource) {
      message.resource = { attributes: resource.attributes, schemaUrl: resource.schemaUrl };
      this.sentResource = resource;
    }
    this.outstanding += this.pending.length;
    this.pending = [];
    this.worker.postMessage(message);
  }

  private request(type: 'flush' | 'shutdown'): Promise<WorkerExportStats> {
    this.post();
    const id = ++this.nextId;
    // Held while a flush is awaited: otherwise an app whose last work is `await shutdown()`
    // would end with its spans still in the worker.
    this.worker.ref();
    return new Promise((resolve) => {
      this.replies.set(id, resolve);
      this.worker.postMessage({ type, id } satisfies ToWorker);
    });
  }

  /** Exports everything queued so far; resolves with what was exported, failed and dropped since the start. */
  async forceFlush(): Promise<void> {
    await this.flushWithStats();
  }

  flushWithStats(): Promise<WorkerExportStats> {
    if (this.closed) return Promise.resolve({ exported: 0, failed: 0, dropped: this.dropped });
    return this.request('flush');
  }

  /**
   * Ends export at once, without waiting for the worker (a bounded shutdown that ran out of
   * time): whoever waits for a flush gets what was counted, and the worker no longer holds the process.
   */
  async abandon(): Promise<void> {
    this.closed = true;
    for (const reply of this.replies.values()) reply({ exported: 0, failed: 0, dropped: this.dropped });
    this.replies.clear();
    await this.worker.terminate();
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    const done = this.request('shutdown');
    this.closed = true;
    await done;
    await this.worker.terminate();
  }
}
