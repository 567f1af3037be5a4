import type { MetricType } from '../format/names.js';
import { sortedNames, type Family } from './family.js';
import type { TextWriter } from './text-writer.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

function escapeLabelValue(value: string): string {
  // indexOf, not a regular expression: this runs for every label of every new series, mostly in cold code.
  if (value.indexOf('\\') === -1 && value.indexOf('\n') === -1 && value.indexOf('"') === -1) return value;
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(help: string, format: ExpositionFormat): string {
  const text = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? text.replace(/"/g, '\\"') : text;
}

/** `{a="1",b="2"}` with names sorted, or '' for no labels. */
export function renderLabels(labels: Record<string, string>, names = sortedNames(labels)): string {
  if (names.length === 0) return '';
  let out = '{';
  for (let i = 0; i < names.length; i++) out += `${i === 0 ? '' : ','}${names[i]}="${escapeLabelValue(labels[names[i]])}"`;
  return out + '}';
}

/** An exemplar's `{a="1",b="2"}`, in the order its labels were given (`{}` for none). */
export function renderExemplarLabels(labels: Record<string, string>): string {
  const names = Object.keys(labels);
  return names.length === 0 ? '{}' : renderLabels(labels, names);
}

/**
 * The name on a family's HELP and TYPE lines. The 0.0.4 text format names a
 * counter by its sample (`jobs_total`, or `jobs` for a `bare` one: declared
 * so under prom-client's naming); OpenMetrics by its family (`jobs`).
 */
export function exposedFamilyName(family: string, type: MetricType, format: ExpositionFormat, bare = false): string {
  return type === 'counter' && format === 'prometheus' && !bare ? `${family}_total` : family;
}

export function familyHeader(family: string, type: MetricType, help: string, format: ExpositionFormat, bare = false): string {
  const name = exposedFamilyName(family, type, format, bare);
  return `# HELP ${name} ${escapeHelp(help, format)}\n# TYPE ${name} ${type}\n`;
}

/** A whole family given as plain objects (registries served alongside, the collector's own counter). */
export function renderFamily(family: Family, format: ExpositionFormat, out: TextWriter, extraLabels?: Readonly<Record<string, string>>): void {
  const bare = family.bare === true && format === 'prometheus';
  out.text(familyHeader(family.name, family.type, family.help, format, bare));
  for (const sample of family.samples) {
    const name = family.bare && !bare ? `${family.name}_total` : sample.name;
    const labels = extraLabels ? withDefaults(sample.labels, extraLabels) : sample.labels;
    out.text(`${name}${renderLabels(labels, sampleLabelNames(family.type, labels))} `);
    if (sample.exemplar && format === 'openmetrics') {
      out.value(sample.value);
      out.exemplarEnd(sample.exemplar);
    } else out.valueLine(sample.value);
  }
}

/** The order of a sample's label names: sorted, but a summary's `quantile` first, where prom-client places it. */
function sampleLabelNames(type: MetricType, labels: Record<string, string>): string[] {
  const names = sortedNames(labels);
  if (type !== 'summary' || labels.quantile === undefined) return names;
  return ['quantile', ...names.filter((name) => name !== 'quantile')];
}

/** A sample's labels with `defaults` for the names it lacks (prom-client's default labels never override a series' own). */
export function withDefaults(labels: Readonly<Record<string, string>>, defaults: Readonly<Record<string, string>>): Record<string, string> {
  return { ...defaults, ...labels };
}

/** `family` with the default labels added to every series that lacks them. */
export function familyWithDefaults(family: Family, defaults: Readonly<Record<string, string>>): Family {
  const labelled = { ...family, samples: family.samples.map((s) => ({ ...s, labels: withDefaults(s.labels, defaults) })) };
  if (family.native) labelled.native = family.native.map((s) => ({ ...s, labels: withDefaults(s.labels, defaults) }));
  return labelled;
}

export function endOfExposition(format: ExpositionFormat): string {
  return format === 'openmetrics' ? '# EOF\n' : '';
}
