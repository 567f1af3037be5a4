import { parseBound } from '../format/float.js';
import type { GaugeMode, MetricType } from '../format/names.js';
import type { FileEntry } from './read.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  /** The family name as stored in the keys (a counter's without `_total`). */
  name: string;
  type: MetricType;
  help: string;
  /** Grouped per label set (a histogram's buckets, sum and count together), in a stable order. */
  samples: Sample[];
}

/** Where one file's entries come from, as its name tells. */
export interface EntrySource {
  type: MetricType;
  mode?: GaugeMode;
  /** The file id; undefined for this process's in-memory values (no `pid` label then). */
  id?: string;
}

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp: number;
  /** Set once a mostrecent series has a value with a non-zero timestamp. */
  chosen: boolean;
}

interface FamilyAccumulator {
  name: string;
  type: MetricType;
  help: string;
  series: Map<string, Series>;
}

function labelsKey(labels: Record<string, string>): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const name of names) key += `${name}\u0000${labels[name]}\u0001`;
  return key;
}

/**
 * Merges entries from many files as Python's collector does (FORMAT.md,
 * "What the collector exports"). Add files in a fixed order (sorted names)
 * for deterministic float sums and HELP text.
 */
export class Merger {
  private readonly families = new Map<string, FamilyAccumulator>();

  /** Returns the families whose type clashes with an earlier file's, which were skipped. */
  add(source: EntrySource, entries: readonly FileEntry[]): string[] {
    const clashes: string[] = [];
    for (const entry of entries) {
      let family = this.families.get(entry.family);
      if (!family) {
        family = { name: entry.family, type: source.type, help: entry.help, series: new Map() };
        this.families.set(entry.family, family);
      } else if (family.type !== source.type) {
        if (!clashes.includes(entry.family)) clashes.push(entry.family);
        continue;
      }
      this.accumulate(family, source, entry);
    }
    return clashes;
  }

  private accumulate(family: FamilyAccumulator, source: EntrySource, entry: FileEntry): void {
    let labels = entry.labels;
    const mode = source.mode;
    if (source.type === 'gauge') {
      if (mode === 'all' || mode === 'liveall') {
        if (source.id !== undefined) labels = { ...labels, pid: source.id };
      } else if ('pid' in labels) {
        labels = { ...labels };
        delete labels.pid;
      }
    }
    const key = `${entry.sampleName}\u0002${labelsKey(labels)}`;
    const series = family.series.get(key);
    if (!series) {
      const isMostRecent = mode === 'mostrecent' || mode === 'livemostrecent';
      const chosen = !isMostRecent || entry.timestamp !== 0;
      family.series.set(key, { name: entry.sampleName, labels, value: entry.value, timestamp: entry.timestamp, chosen });
      return;
    }
    switch (source.type === 'gauge' ? mode : 'sum') {
      case 'min':
      case 'livemin':
        series.value = Math.min(series.value, entry.value);
        break;
      case 'max':
      case 'livemax':
        series.value = Math.max(series.value, entry.value);
        break;
      case 'mostrecent':
      case 'livemostrecent':
        // Ties keep the file read first; a never-set entry (timestamp 0) is never chosen.
        if (entry.timestamp !== 0 && (!series.chosen || entry.timestamp > series.timestamp)) {
          series.value = entry.value;
          series.timestamp = entry.timestamp;
          series.chosen = true;
        }
        break;
      case 'all':
      case 'liveall':
        // One series per file: the pid label keeps them apart, so only a
        // file listed twice lands here; the last value read wins.
        series.value = entry.value;
        break;
      default:
        series.value += entry.value;
    }
  }

  /** The merged families, sorted by name, each with its samples in a stable order. */
  result(): Family[] {
    return [...this.families.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((family) => ({ name: family.name, type: family.type, help: family.help, samples: orderedSamples(family) }));
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function orderedSamples(family: FamilyAccumulator): Sample[] {
  const series = [...family.series.values()].filter((s) => s.chosen);
  if (family.type === 'histogram') return histogramSamples(family.name, series);
  const withKeys = series.map((s) => ({ s, key: labelsKey(s.labels) }));
  // Summaries: _sum before _count within a label set; others have one sample name.
  const rank = (name: string): number => (name.endsWith('_count') ? 1 : 0);
  withKeys.sort((a, b) => compareText(a.key, b.key) || rank(a.s.name) - rank(b.s.name) || compareText(a.s.name, b.s.name));
  return withKeys.map(({ s }) => ({ name: s.name, labels: s.labels, value: s.value }));
}

function histogramSamples(name: string, series: Series[]): Sample[] {
  interface Group {
    labels: Record<string, string>;
    sum: number;
    buckets: Array<{ bound: number; le: string; count: number }>;
  }
  const groups = new Map<string, Group>();
  for (const s of series) {
    const { le, ...labels } = s.labels;
    const key = labelsKey(labels);
    let group = groups.get(key);
    if (!group) {
      group = { labels, sum: 0, buckets: [] };
      groups.set(key, group);
    }
    if (s.name === `${name}_sum`) group.sum += s.value;
    else if (s.name === `${name}_bucket` && le !== undefined) group.buckets.push({ bound: parseBound(le), le, count: s.value });
  }
  const out: Sample[] = [];
  for (const key of [...groups.keys()].sort(compareText)) {
    const group = groups.get(key)!;
    group.buckets.sort((a, b) => a.bound - b.bound);
    let cumulative = 0;
    for (const bucket of group.buckets) {
      cumulative += bucket.count;
      out.push({ name: `${name}_bucket`, labels: { ...group.labels, le: bucket.le }, value: cumulative });
    }
    out.push({ name: `${name}_sum`, labels: group.labels, value: group.sum });
    out.push({ name: `${name}_count`, labels: group.labels, value: cumulative });
  }
  return out;
}
