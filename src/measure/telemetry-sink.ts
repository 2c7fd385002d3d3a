import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Where the overhead measurement's telemetry goes: an OTLP/HTTP receiver on a free local port
 * that takes what it is sent and answers as a collector does (200, an empty protobuf
 * ExportTraceServiceResponse), counting requests and bytes; and a scraper that reads the
 * Prometheus endpoint at an interval, as a Prometheus server would. So "instrumentation on"
 * pays for exporting what users export, not for a no-op exporter.
 */
export interface TelemetrySink {
  /** The OTLP traces endpoint (`.../v1/traces`). */
  tracesUrl: string;
  readonly received: { requests: number; bytes: number; scrapes: number; scrapeBytes: number };
  /** Starts scraping `metricsUrl` every `intervalMs`. */
  scrape(metricsUrl: string, intervalMs: number): void;
  close(): Promise<void>;
}

export async function startTelemetrySink(): Promise<TelemetrySink> {
  const received = { requests: 0, bytes: 0, scrapes: 0, scrapeBytes: 0 };
  const server: Server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (received.bytes += chunk.length));
    request.on('end', () => {
      received.requests++;
      response.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' }).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  let timer: NodeJS.Timeout | undefined;
  return {
    tracesUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    received,
    scrape(metricsUrl, intervalMs) {
      timer = setInterval(() => {
        fetch(metricsUrl)
          .then((r) => r.text())
          .then((body) => {
            received.scrapes++;
            received.scrapeBytes += body.length;
          })
          .catch(() => undefined);
      }, intervalMs).unref();
    },
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
