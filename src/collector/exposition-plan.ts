import { parseBound } from '../format/float.js';
import { renderLabels } from './exposition.js';
import { compareText } from '../format/names.js';
import { labelsFromKey, labelsKey, sortedNames, type Family, type Sample } from './family.js';
import type { FamilyState, HistogramGroup, Line } from './family-state.js';
import type { SeriesTable } from './series-table.js';
import type { TextWriter } from './text-writer.js';
import type { NativeTable } from './native-table.js';
import type { ExemplarTable } from './exemplar-table.js';
import type { SummaryTable } from './summary-table.js';

/**
 * The exposition of a family from the series table: in which order its
 * series are written (planned again only when series were added), the
 * lines a histogram computes (cumulative buckets, _count), and the walk over
 * them that rendering and collect() share.
 */

/**
 * Calls `emit` for every sample of `family` in this scrape, in exposition
 * order, with its series (-1: a histogram's _sum and _count, a summary's
 * quantiles, computed). A summary's quantiles (from `quantiles`) come before
 * the _sum and _count of their label set, as prom-client writes them.
 */
function forEachSample(table: SeriesTable, family: FamilyState, emit: (line: Line, value: number, series: number) => void, quantiles?: SummaryTable): void {
  if (family.dirty) plan(table, family);
  const { value, seenIn, scrape, seriesInfo } = table;
  if (family.type !== 'histogram') {
    const ordered = family.ordered;
    const summary = quantiles !== undefined && family.type === 'summary';
    let group: string | undefined;
    for (let i = 0; i < ordered.length; i++) {
      const s = ordered[i];
      // timestamp 0 marks a mostrecent series no source has set: not exported.
      if (seenIn[s] !== scrape || table.timestamp[s] === 0) continue;
      const line = seriesInfo[s];
      if (summary && line.labelsKey !== group) {
        group = line.labelsKey;
        const of = quantiles.quantiles(family.name, group);
        if (of) {
          const lines = quantileLines(table, family, group, of.percentiles);
          for (let q = 0; q < lines.length; q++) emit(lines[q], of.values[q], -1);
        }
      }
      emit(line, value[s], s);
    }
    return;
  }
  const groups = family.groups;
  for (let g = 0; g < groups.length; g++) {
    const { buckets, sum, sumLine, countLine } = groups[g];
    const sumSeen = sum >= 0 && seenIn[sum] === scrape;
    let anySeen = sumSeen;
    for (let b = 0; b < buckets.length && !anySeen; b++) anySeen = seenIn[buckets[b].series] === scrape;
    if (!anySeen) continue;
    let cumulative = 0;
    for (let b = 0; b < buckets.length; b++) {
      const series = buckets[b].series;
      if (seenIn[series] === scrape) cumulative += value[series];
      emit(seriesInfo[series], cumulative, series);
    }
    emit(sumLine, sumSeen ? value[sum] : 0, -1);
    emit(countLine, cumulative, -1);
  }
}

/**
 * Writes the exposition lines of one family's samples. `bare`: a counter's
 * samples are named by the family alone (`jobs`, the text format of a
 * counter declared without `_total`): each stored `jobs_total{...} ` prefix
 * is written without its `_total`.
 */
export function renderSamples(table: SeriesTable, family: FamilyState, out: TextWriter, bare = false, exemplars?: ExemplarTable, quantiles?: SummaryTable): void {
  const prefixes = table.linePrefixes;
  if (exemplars && exemplars.size > 0 && (family.type === 'counter' || family.type === 'histogram')) {
    // OpenMetrics (never bare): a series' latest exemplar ends its line.
    forEachSample(table, family, (line, value, series) => {
      out.copy(prefixes, line.prefixStart, line.prefixEnd);
      const exemplar = series < 0 ? undefined : exemplars.of(series);
      if (exemplar === undefined) out.valueLine(value);
      else {
        out.value(value);
        out.exemplarEnd(exemplar);
      }
    });
    return;
  }
  if (bare) {
    const nameEnd = Buffer.byteLength(family.name);
    const skip = nameEnd + '_total'.length;
    forEachSample(table, family, (line, value) => {
      out.copy(prefixes, line.prefixStart, line.prefixStart + nameEnd);
      out.copy(prefixes, line.prefixStart + skip, line.prefixEnd);
      out.valueLine(value);
    });
    return;
  }
  forEachSample(
    table,
    family,
    (line, value) => {
      out.copy(prefixes, line.prefixStart, line.prefixEnd);
      out.valueLine(value);
    },
    quantiles,
  );
}

/**
 * The quantile lines of one label set of a summary, one per percentile:
 * `name{quantile="0.5",<its labels>} `, the quantile label first as
 * prom-client places it. Made once per label set and percentiles.
 */
function quantileLines(table: SeriesTable, family: FamilyState, key: string, percentiles: readonly number[]): Line[] {
  const known = family.quantileLines.get(key);
  if (known && known.percentiles === percentiles) return known.lines;
  const labels = labelsFromKey(key);
  const names = ['quantile', ...sortedNames(labels)];
  const lines = percentiles.map((p) => {
    const withQuantile = { ...labels, quantile: String(p) };
    return table.line(family.name, labelsKey(withQuantile, names), renderLabels(withQuantile, names));
  });
  family.quantileLines.set(key, { percentiles, lines });
  return lines;
}

/**
 * One family as plain objects (for JSON, protobuf); `bare` as for
 * renderSamples(). For a histogram, `native` gives the native part of each
 * label set of this scrape that has one (with the sum of its classic entries);
 * for a summary, `quantiles` its quantiles.
 */
export function toFamily(table: SeriesTable, family: FamilyState, bare = false, native?: NativeTable, exemplars?: ExemplarTable, quantiles?: SummaryTable): Family {
  const samples: Sample[] = [];
  const nativeSeries: NonNullable<Family['native']> = [];
  let sumOfGroup = 0;
  forEachSample(table, family, (line, value, series) => {
    const exemplar = series < 0 || !exemplars ? undefined : exemplars.of(series);
    const sample: Sample = { name: bare ? family.name : line.sampleName, labels: labelsFromKey(line.labelsKey), value };
    if (exemplar) sample.exemplar = exemplar;
    samples.push(sample);
    // A histogram group's lines end with _sum, then _count: its native part goes with the _count line.
    if (native && family.type === 'histogram') {
      if (line.sampleName === `${family.name}_sum`) sumOfGroup = value;
      else if (line.sampleName === `${family.name}_count`) {
        const histogram = native.histogram(family.name, line.labelsKey, sumOfGroup);
        if (histogram) nativeSeries.push({ labels: labelsFromKey(line.labelsKey), histogram });
      }
    }
  }, quantiles);
  return { name: family.name, type: family.type, help: family.help, samples, ...(bare ? { bare } : {}), ...(nativeSeries.length > 0 ? { native: nativeSeries } : {}) };
}

/** Orders a family's series: by label set, then (summaries) _sum before _count; histograms by group and bound. */
function plan(table: SeriesTable, family: FamilyState): void {
  family.dirty = false;
  const infos = family.members.map((series) => ({ series, info: table.seriesInfo[series], key: table.seriesInfo[series].labelsKey }));
  if (family.type !== 'histogram') {
    const rank = (name: string): number => (name.endsWith('_count') ? 1 : 0);
    infos.sort((a, b) => compareText(a.key, b.key) || rank(a.info.sampleName) - rank(b.info.sampleName) || compareText(a.info.sampleName, b.info.sampleName));
    family.ordered = infos.map((i) => i.series);
    return;
  }
  const groups = new Map<string, HistogramGroup>();
  const sumName = `${family.name}_sum`;
  const countName = `${family.name}_count`;
  const bucketName = `${family.name}_bucket`;
  for (const { series, info } of infos) {
    const { le, ...labels } = labelsFromKey(info.labelsKey);
    const names = sortedNames(labels);
    const key = labelsKey(labels, names);
    let group = groups.get(key);
    if (!group) {
      // A group's _sum and _count lines are made once: plan() runs again whenever series are added.
      let lines = family.groupLines.get(key);
      if (!lines) {
        const rendered = renderLabels(labels, names);
        lines = [table.line(sumName, key, rendered), table.line(countName, key, rendered)];
        family.groupLines.set(key, lines);
      }
      group = { buckets: [], sum: -1, sumLine: lines[0], countLine: lines[1] };
      groups.set(key, group);
    }
    if (info.sampleName === sumName) group.sum = series;
    else if (info.sampleName === bucketName && le !== undefined) group.buckets.push({ series, bound: parseBound(le) });
  }
  family.groups = [...groups.entries()].sort((a, b) => compareText(a[0], b[0])).map(([, group]) => group);
  for (const group of family.groups) group.buckets.sort((a, b) => a.bound - b.bound);
}
