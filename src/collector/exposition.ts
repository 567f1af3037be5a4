import { formatPrometheusFloat } from '../format/float.js';
import type { Family, Sample } from './merge.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(help: string, format: ExpositionFormat): string {
  const text = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? text.replace(/"/g, '\\"') : text;
}

function renderLabels(labels: Record<string, string>): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return '';
  return `{${names.map((name) => `${name}="${escapeLabelValue(labels[name])}"`).join(',')}}`;
}

function renderSample(sample: Sample): string {
  return `${sample.name}${renderLabels(sample.labels)} ${formatPrometheusFloat(sample.value)}\n`;
}

/**
 * The name on a family's HELP and TYPE lines. The 0.0.4 text format names a
 * counter by its sample (`jobs_total`); OpenMetrics by its family (`jobs`).
 */
export function exposedFamilyName(family: Family, format: ExpositionFormat): string {
  return family.type === 'counter' && format === 'prometheus' ? `${family.name}_total` : family.name;
}

/** Renders families in the Prometheus text format 0.0.4 or OpenMetrics 1.0 (ending with `# EOF`). */
export function renderExposition(families: readonly Family[], format: ExpositionFormat): string {
  let out = '';
  for (const family of families) {
    const name = exposedFamilyName(family, format);
    out += `# HELP ${name} ${escapeHelp(family.help, format)}\n# TYPE ${name} ${family.type}\n`;
    for (const sample of family.samples) out += renderSample(sample);
  }
  return format === 'openmetrics' ? `${out}# EOF\n` : out;
}
