import type { GaugeMode, MetricType } from './names.js';

/**
 * How the values of one series combine: over processes at a scrape, into the
 * accumulated files at compaction, and within one process when series kept
 * in memory move into its file. This module owns the rule. Scrape and
 * compaction must never disagree (a compaction must not change what a
 * scrape exports), so the collector's merge loop, which keeps its own
 * inlined switch for speed, takes its rule from mergeRule() here.
 */

/**
 * How the values of one series merge over processes (docs/format.md, "What
 * the collector exports"); `per-process` series stay apart, told by a `pid` label.
 */
export type MergeRule = 'sum' | 'min' | 'max' | 'mostrecent' | 'per-process';

export function mergeRule(type: MetricType, mode?: GaugeMode): MergeRule {
  if (type !== 'gauge') return 'sum';
  switch (mode) {
    case 'min':
    case 'livemin':
      return 'min';
    case 'max':
    case 'livemax':
      return 'max';
    case 'mostrecent':
    case 'livemostrecent':
      return 'mostrecent';
    case 'sum':
    case 'livesum':
      return 'sum';
    default:
      return 'per-process';
  }
}

/** Gauges whose series belong to one live process (`all` and the live* modes): a dead writer's values of these go. */
export function isPerLiveProcess(mode: GaugeMode): boolean {
  return mode === 'all' || mode.startsWith('live');
}

/** Gauges that write a timestamp beside each value: the merge picks the latest. */
export function isMostRecentMode(mode: GaugeMode): boolean {
  return mergeRule('gauge', mode) === 'mostrecent';
}

/**
 * A rule by which a dead writer's values carry over into the accumulated
 * file. `epoch`: summary quantile buckets (format/summary-window.ts), whose
 * timestamp is the epoch their count belongs to: counts of one epoch add
 * up, a later epoch replaces an earlier one (which is a turn of the ring
 * older: out of every window), as a scrape counts only in-window entries.
 * `epoch-min`, `epoch-max`: their smallest and largest observations, the
 * same but for the least and greatest value of one epoch.
 */
export type CarriedRule = Exclude<MergeRule, 'per-process'> | 'epoch' | 'epoch-min' | 'epoch-max';

/**
 * How an entry of a sidecar file (`.nhdb`: native histogram or summary
 * quantile buckets) carries over; `kind`, a summary entry's kind
 * (format/summary-window.ts).
 */
export function carryOverSidecar(type: MetricType, kind?: string): CarriedRule {
  if (type !== 'summary') return 'sum';
  return kind === 'min' ? 'epoch-min' : kind === 'max' ? 'epoch-max' : 'epoch';
}

/** How a dead writer's values carry over: as a scrape merges them; undefined: they go (live* gauges, and `all`, whose series are per process). */
export function carryOver(type: MetricType, mode: GaugeMode | undefined): CarriedRule | undefined {
  if (type === 'gauge' && isPerLiveProcess(mode!)) return undefined;
  return mergeRule(type, mode) as CarriedRule;
}

/**
 * The timestamp of an entry its writer withdrew (its series was removed or
 * reset, or its metric left the registries): the value is 0 and readers skip
 * the entry, so a series withdrawn by every writer that held it leaves the
 * merged view. Python's collector ignores timestamps except in mostrecent
 * modes, where -1 loses to every real time: it reads such an entry as 0.
 */
export const WITHDRAWN = -1;

/** One entry's value and timestamp (0: a mostrecent entry never set; WITHDRAWN: skipped). */
export interface StoredValue {
  value: number;
  timestamp: number;
}

/**
 * Merges `entry` into `into` by `rule`, as a scrape does: `into` holds what
 * sources read before gave. For `mostrecent`, a never-set entry (timestamp
 * 0) is never chosen, and on a tie the source read first wins.
 */
export function mergeInto(into: StoredValue, entry: StoredValue, rule: CarriedRule): void {
  if (rule === 'sum') into.value += entry.value;
  else if (rule === 'epoch' || rule === 'epoch-min' || rule === 'epoch-max') {
    if (entry.timestamp === into.timestamp) {
      if (rule === 'epoch') into.value += entry.value;
      else into.value = rule === 'epoch-min' ? Math.min(into.value, entry.value) : Math.max(into.value, entry.value);
    } else if (entry.timestamp > into.timestamp) {
      into.value = entry.value;
      into.timestamp = entry.timestamp;
    }
  }
  else if (rule === 'min') into.value = Math.min(into.value, entry.value);
  else if (rule === 'max') into.value = Math.max(into.value, entry.value);
  else if (entry.timestamp !== 0 && (into.timestamp === 0 || entry.timestamp > into.timestamp)) {
    into.value = entry.value;
    into.timestamp = entry.timestamp;
  }
}

/**
 * Whether values of one key that one process wrote in two places (its file,
 * and memory while the file could not grow) add up: counts do (counters,
 * histograms, summaries); a gauge's later value replaces the earlier one.
 */
export function accumulates(type: MetricType): boolean {
  return type !== 'gauge';
}
