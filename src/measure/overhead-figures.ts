// The overhead's figures as they are reported: pure conversions and labels, shared by the
// slice runner, the gate, the pipeline and the reports.

/** The parts the breakdown adds up, each the difference between a kind and the one before it. */
export const BREAKDOWN_PARTS = {
  handlers: "agentperf's handlers, metrics, HDR records",
  spans: 'spans made (two per upstream call) and their context',
  on: 'span export (record, post, worker)',
} as const;

/** Throughput lost to instrumentation, in %, from a comparison of log(on / off): positive is a cost. */
export const lostPct = (logRatio: number) => (1 - Math.exp(logRatio)) * 100;
/** CPU added by instrumentation, in %, from a comparison of log(on / off). */
export const addedPct = (logRatio: number) => (Math.exp(logRatio) - 1) * 100;
