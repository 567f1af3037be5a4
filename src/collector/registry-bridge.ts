import type { MetricType } from '../format/names.js';
import { familyWithDefaults, renderFamily, type ExpositionFormat } from './exposition.js';
import type { Family } from './family.js';
import type { IncrementalCollector } from './incremental.js';
import { ExposedNameClaims } from './name-claims.js';
import type { TextWriter } from './text-writer.js';
import { metricText, type MetricSnapshot } from './metric-text.js';

/**
 * prom-client registries served beside the merged files (per-process
 * metrics a service keeps in prom-client): their families in our model,
 * and which of them may be served.
 */

/** One family of a scrape's result: the merged ones render from the collector's cache. */
export interface Part {
  name: string;
  render(format: ExpositionFormat, out: TextWriter): void;
  toFamily(): Family;
}

/** A family given as plain objects (a registry's, the collector's own counter). */
export function plainPart(family: Family): Part {
  return { name: family.name, render: (format, out) => renderFamily(family, format, out), toFamily: () => family };
}

/** A prom-client registry's metrics in our family model. */
export async function familiesOf(registry: { getMetricsAsJSON(): Promise<MetricSnapshot[]> | MetricSnapshot[] }): Promise<Family[]> {
  return (await registry.getMetricsAsJSON()).map((metric) => familyOfSnapshot(metric));
}

/**
 * A metric's get() result in our family model: a counter declared `jobs`
 * is the bare family `jobs` (exported as `jobs` in the text format), one
 * declared `jobs_total` the family `jobs` with samples `jobs_total`.
 * `withExemplars`: samples keep their exemplars (the protobuf exposition;
 * the text of these families is written from the snapshot itself).
 */
export function familyOfSnapshot(metric: MetricSnapshot, withExemplars = false): Family {
  const type = String(metric.type) as MetricType;
  const bare = type === 'counter' && !metric.name.endsWith('_total');
  const name = type === 'counter' && !bare ? metric.name.slice(0, -'_total'.length) : metric.name;
  return {
    name,
    type,
    help: metric.help,
    snapshot: metric,
    ...(bare ? { bare } : {}),
    ...(type === 'histogram' && metric.native ? { native: metric.native } : {}),
    samples: (metric.values ?? []).map((v) => {
      const labels: Record<string, string> = {};
      for (const [k, value] of Object.entries(v.labels ?? {})) if (value !== undefined) labels[k] = String(value);
      const sampleName = type === 'counter' ? metric.name : (v.metricName ?? metric.name);
      const exemplar = withExemplars ? v.exemplar : undefined;
      if (!exemplar) return { name: sampleName, labels, value: v.value };
      const exemplarLabels: Record<string, string> = {};
      for (const [k, value] of Object.entries(exemplar.labelSet)) exemplarLabels[k] = String(value);
      return { name: sampleName, labels, value: v.value, exemplar: { labels: exemplarLabels, value: exemplar.value, timestamp: exemplar.timestamp ?? Date.now() / 1000 } };
    }),
  };
}

/** How the families served beside the files are written. */
export interface BesideStyle {
  /** Labels added to every series that lacks them (the registry's default labels). */
  defaultLabels?: Readonly<Record<string, string>>;
  /** Write a metric object's get() result as prom-client does (label order as given), not as the merged families are written. */
  asPromClient: boolean;
}

/**
 * The registries' families that can be served: they come after the files'
 * ones (and the collector's own), so one whose names meet a family's met
 * before is not served, and is reported.
 */
export function servedBeside(collector: IncrementalCollector, extra: readonly Family[], style: BesideStyle, report: (subject: string, message: string) => void): Part[] {
  const served = new ExposedNameClaims();
  const parts: Part[] = [];
  const defaults = style.defaultLabels;
  for (const family of extra) {
    const holder = collector.nameHolder(family.name, family.type) ?? served.holder(family.name, family.type);
    if (holder) {
      report(`registry metric ${family.name}`, `exposes ${holder.name}, a name of the ${holder.type} family ${holder.family} served already; it is not served`);
      continue;
    }
    served.claim(family.name, family.type);
    const labelled = defaults ? familyWithDefaults(family, defaults) : family;
    const snapshot = family.snapshot;
    if (style.asPromClient && snapshot) {
      parts.push({ name: family.name, render: (format, out) => out.text(`${metricText(snapshot, { format, defaultLabels: defaults })}\n`), toFamily: () => labelled });
    } else {
      parts.push(plainPart(labelled));
    }
  }
  return parts;
}
