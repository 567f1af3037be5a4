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

/**
 * The name on a family's HELP and TYPE lines. The 0.0.4 text format names a
 * counter by its sample (`jobs_total`); OpenMetrics by its family (`jobs`).
 */
export function exposedFamilyName(family: string, type: MetricType, format: ExpositionFormat): string {
  return type === 'counter' && format === 'prometheus' ? `${family}_total` : family;
}

export function familyHeader(family: string, type: MetricType, help: string, format: ExpositionFormat): string {
  const name = exposedFamilyName(family, type, format);
  return `# HELP ${name} ${escapeHelp(help, format)}\n# TYPE ${name} ${type}\n`;
}

/** A whole family given as plain objects (registries served alongside, the collector's own counter). */
export function renderFamily(family: Family, format: ExpositionFormat, out: TextWriter): void {
  out.text(familyHeader(family.name, family.type, family.help, format));
  for (const sample of family.samples) {
    out.text(`${sample.name}${renderLabels(sample.labels)} `);
    out.valueLine(sample.value);
  }
}

export function endOfExposition(format: ExpositionFormat): string {
  return format === 'openmetrics' ? '# EOF\n' : '';
}
