import type { MetricType } from '../format/names.js';

/**
 * What the collector keeps of one family over scrapes: its series (by
 * sample name and label set), and the exposition order and histogram
 * groups planned from them (exposition-plan.ts), rebuilt only when series
 * were added.
 */

/** One line of the exposition: a series, or a histogram's computed line. */
export interface Line {
  sampleName: string;
  /** labelsKey() of its labels: its place in the exposition order, and its labels for collect(). */
  labelsKey: string;
  /** Where `name{labels} `, the start of its exposition line, is in the table's line prefixes. */
  prefixStart: number;
  prefixEnd: number;
}

export interface HistogramGroup {
  /** Bucket series, by bound; each series is its bucket's line. */
  buckets: Array<{ series: number; bound: number }>;
  sum: number;
  sumLine: Line;
  countLine: Line;
}

/** The series of one sample name of a family, by labelsKey. */
export interface SampleSeries {
  /** The sample name, kept once for all its series. */
  name: string;
  byLabels: Map<string, number>;
}

export class FamilyState {
  readonly members: number[] = [];
  readonly samples = new Map<string, SampleSeries>();
  /** Set when members were added: the order and histogram groups are rebuilt at the next scrape. */
  dirty = true;
  ordered: number[] = [];
  groups: HistogramGroup[] = [];
  /**
   * A counter written with its bare family name as sample name (declared
   * without `_total` under prom-client's naming): the text format names it
   * so, as prom-client does. Its series are kept under `<family>_total`.
   */
  bareCounter = false;
  /** Histograms: the _sum and _count lines of each label set (without `le`). */
  readonly groupLines = new Map<string, [sum: Line, count: Line]>();
  /** Summaries: the quantile lines of each label set, for the percentiles they were made for. */
  readonly quantileLines = new Map<string, { percentiles: readonly number[]; lines: Line[] }>();

  constructor(
    readonly name: string,
    readonly type: MetricType,
    readonly help: string,
  ) {}
}
