import { showValue, ValidationError } from '../errors.js';

/**
 * prom-client's bucket generators, for Histogram `buckets`. Each bound is
 * computed from the start (start + i x width, start x factor^i by repeated
 * multiplication, as prom-client does), so the same arguments give the same
 * bounds in both libraries: a dashboard's `le` values stay what they were.
 */

/** Throws, in prom-client's words (`Linear buckets needs a positive count`) and with the value, unless `value` is a finite number that passes `ok`. */
function needNumber(what: string, rule: string, value: unknown, ok: (n: number) => boolean): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
    throw new ValidationError(`${what} needs ${rule}, got ${showValue(value)}`);
  }
}

const wholeAndPositive = (n: number): boolean => Number.isInteger(n) && n >= 1;

/** `count` bounds: start, start + width, start + 2 x width, ... */
export function linearBuckets(start: number, width: number, count: number): number[] {
  needNumber('Linear buckets', 'a positive count (a whole number)', count, wholeAndPositive);
  needNumber('Linear buckets', 'a finite start', start, () => true);
  needNumber('Linear buckets', 'a positive width', width, (n) => n > 0);
  const buckets: number[] = [];
  for (let i = 0; i < count; i++) buckets.push(start + i * width);
  return buckets;
}

/** `count` bounds: start, start x factor, start x factor^2, ... */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  needNumber('Exponential buckets', 'a positive start', start, (n) => n > 0);
  needNumber('Exponential buckets', 'a positive count (a whole number)', count, wholeAndPositive);
  needNumber('Exponential buckets', 'a factor greater than 1', factor, (n) => n > 1);
  const buckets: number[] = [];
  for (let i = 0, bound = start; i < count; i++, bound *= factor) buckets.push(bound);
  return buckets;
}
