/** What a label value beyond its bound becomes. */
export const OTHER = 'other';

/** The default bound on distinct values of a client-supplied label (AGENTPERF_LABEL_VALUES_MAX). */
export const DEFAULT_LABEL_VALUES_MAX = 100;

/**
 * Keeps a client-supplied value (a workflow's name, a step's id) fit for metric labels and span
 * names: the first `limit` distinct values pass as they are, every later one becomes `other`
 * and is counted. The value itself still goes on the span as an attribute, where cardinality
 * costs nothing; a label of unbounded values makes a series each, without end.
 */
export class BoundedValues {
  private readonly seen = new Set<string>();
  /** Values turned into `other` so far. */
  overflowed = 0;

  constructor(readonly limit: number) {}

  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size < this.limit) {
      this.seen.add(value);
      return value;
    }
    this.overflowed++;
    return OTHER;
  }
}
