import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

/** An HDR histogram of nanoseconds, 1 ns to 100 s, 3 significant digits. */
export function nanosecondHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 100_000_000_000, numberOfSignificantValueDigits: 3 });
}

export interface PercentileSummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Percentiles of a nanosecond histogram, in microseconds. */
export function microsecondSummary(histogram: Histogram): PercentileSummary {
  const us = (ns: number) => ns / 1000;
  return {
    count: histogram.totalCount,
    p50: us(histogram.getValueAtPercentile(50)),
    p90: us(histogram.getValueAtPercentile(90)),
    p99: us(histogram.getValueAtPercentile(99)),
    p999: us(histogram.getValueAtPercentile(99.9)),
    max: us(histogram.maxValue),
    mean: us(histogram.mean),
  };
}
