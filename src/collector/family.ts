import type { MetricType } from '../format/names.js';

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

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The label names of `labels`, sorted; sorting is skipped when they already are (Python writes keys sorted). */
export function sortedNames(labels: Record<string, string>): string[] {
  const names = Object.keys(labels);
  for (let i = 1; i < names.length; i++) {
    if (names[i - 1] > names[i]) return names.sort();
  }
  return names;
}

/** A label set as one string that sorts and compares like the sorted set. */
export function labelsKey(labels: Record<string, string>, names = sortedNames(labels)): string {
  let key = '';
  for (const name of names) key += `${name}\u0000${labels[name]}\u0001`;
  return key;
}

/**
 * Whether labelsFromKey can read `key` back: it holds the separators of
 * exactly `count` labels, so no name or value contains one.
 */
export function keyIsReadable(key: string, count: number): boolean {
  return occurrences(key, '\u0000') === count && occurrences(key, '\u0001') === count;
}

function occurrences(text: string, char: string): number {
  let count = 0;
  for (let at = text.indexOf(char); at !== -1; at = text.indexOf(char, at + 1)) count++;
  return count;
}

/** The label set a labelsKey() was made from (when keyIsReadable says so). */
export function labelsFromKey(key: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (let at = 0; at < key.length; ) {
    const nameEnd = key.indexOf('\u0000', at);
    const valueEnd = key.indexOf('\u0001', nameEnd);
    labels[key.slice(at, nameEnd)] = key.slice(nameEnd + 1, valueEnd);
    at = valueEnd + 1;
  }
  return labels;
}
