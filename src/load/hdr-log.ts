import { readFile } from 'node:fs/promises';
import * as hdr from 'hdr-histogram-js';
import { ErrorCode, ValidationError } from '../errors.js';
import { buildMicrosecondHistogram, snapshotOf, type PercentileSnapshot } from '../stats/hdr.js';

/** The tags a load run's histograms carry in HDR logs. Values are microseconds. */
export const HDR_TAGS = { latency: 'latency', serviceTime: 'service' } as const;

/**
 * An HdrHistogram log (the format HdrHistogram's Java, C and JS ports read and write) with one
 * interval per tag covering the measured window: the corrected latency and the service time.
 */
export function hdrLogText(encoded: { latency: string; serviceTime: string }, window: { startEpochMs: number; measuredMs: number }, comment: string): string {
  const lines: string[] = [];
  const writer = new hdr.HistogramLogWriter((text) => lines.push(text));
  writer.outputComment(comment);
  writer.outputLogFormatVersion();
  writer.outputStartTime(window.startEpochMs);
  writer.outputLegend();
  for (const [key, tag] of Object.entries(HDR_TAGS) as Array<[keyof typeof HDR_TAGS, string]>) {
    const histogram = hdr.decodeFromCompressedBase64(encoded[key], 32, true);
    histogram.tag = tag;
    writer.outputIntervalHistogram(histogram, 0, window.measuredMs / 1000, 1000);
    histogram.destroy();
  }
  return lines.join('');
}

export interface MergedHdr {
  files: number;
  intervals: number;
  /** In ms. */
  latency: PercentileSnapshot;
  serviceTime: PercentileSnapshot;
}

/** Adds up, tag by tag, every interval of every log: the latency of several generators as one. */
export async function mergeHdrLogs(files: readonly string[]): Promise<MergedHdr> {
  if (files.length === 0) throw new ValidationError(ErrorCode.USAGE, 'files', 'load merge needs at least one HDR log file');
  const merged = { latency: buildMicrosecondHistogram(), serviceTime: buildMicrosecondHistogram() };
  let intervals = 0;
  try {
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        throw new ValidationError(ErrorCode.HDR_LOG, 'files', `cannot read HDR log ${file}: ${(error as Error).message}`);
      }
      let reader: hdr.HistogramLogReader;
      try {
        reader = new hdr.HistogramLogReader(text, 32, true);
      } catch (error) {
        throw new ValidationError(ErrorCode.HDR_LOG, 'files', `${file} is not an HDR histogram log: ${(error as Error).message}`);
      }
      let found = 0;
      for (;;) {
        let histogram: hdr.Histogram | null;
        try {
          histogram = reader.nextIntervalHistogram();
        } catch (error) {
          throw new ValidationError(ErrorCode.HDR_LOG, 'files', `${file} has a histogram that does not decode: ${(error as Error).message}`);
        }
        if (!histogram) break;
        const into = histogram.tag === HDR_TAGS.serviceTime ? merged.serviceTime : histogram.tag === HDR_TAGS.latency ? merged.latency : undefined;
        if (into) {
          into.add(histogram);
          found++;
        }
        histogram.destroy();
      }
      if (found === 0)
        throw new ValidationError(
          ErrorCode.HDR_LOG,
          'files',
          `${file} holds no interval tagged ${HDR_TAGS.latency} or ${HDR_TAGS.serviceTime}: not an agentperf load log`,
        );
      intervals += found;
    }
    return { files: files.length, intervals, latency: snapshotOf(merged.latency), serviceTime: snapshotOf(merged.serviceTime) };
  } finally {
    merged.latency.destroy();
    merged.serviceTime.destroy();
  }
}
