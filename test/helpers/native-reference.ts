import { FRACTIONS, MAX_SCHEMA } from '../../src/format/native-histogram.js';

/**
 * client_golang's bucket key of `v` (finite, not 0) as its code reads,
 * written independently of ours: frexp (by repeated halving),
 * sort.SearchFloat64s over the schema's own table, and the exponent
 * arithmetic of schemas <= 0. The tests' reference for where an
 * observation belongs.
 */
export function goKey(v: number, schema: number): number {
  let frac = Math.abs(v);
  let exp = 0;
  while (frac >= 1) {
    frac /= 2;
    exp++;
  }
  while (frac < 0.5) {
    frac *= 2;
    exp--;
  }
  if (schema > 0) {
    const bounds = Array.from({ length: 2 ** schema }, (_, j) => FRACTIONS[j * 2 ** (MAX_SCHEMA - schema)]);
    let search = bounds.findIndex((b) => b >= frac);
    if (search === -1) search = bounds.length;
    return search + (exp - 1) * bounds.length;
  }
  let key = exp;
  if (frac === 0.5) key--;
  const offset = 2 ** -schema - 1;
  return Math.floor((key + offset) / 2 ** -schema);
}

/** A native histogram of `values` computed from goKey alone: what any correct writer and merge must produce at `schema`. */
export function expectedHistogram(values: readonly number[], schema: number, zeroThreshold = 2 ** -128): {
  schema: number;
  zeroCount: number;
  count: number;
  positive: Array<[number, number]>;
  negative: Array<[number, number]>;
} {
  const positive = new Map<number, number>();
  const negative = new Map<number, number>();
  let zeroCount = 0;
  for (const v of values) {
    if (Math.abs(v) <= zeroThreshold) zeroCount++;
    else {
      const side = v > 0 ? positive : negative;
      const key = goKey(v, schema);
      side.set(key, (side.get(key) ?? 0) + 1);
    }
  }
  const sorted = (side: Map<number, number>): Array<[number, number]> => [...side].sort((a, b) => a[0] - b[0]);
  return { schema, zeroCount, count: values.length, positive: sorted(positive), negative: sorted(negative) };
}

const bits = new Float64Array(1);
const words = new BigInt64Array(bits.buffer);

/** The double `steps` ulp away from `x` (x > 0). */
export function ulpsFrom(x: number, steps: number): number {
  bits[0] = x;
  words[0] += BigInt(steps);
  return bits[0];
}

/**
 * For every `step`-th bucket index from `from` to `to` at `schema`: the
 * bucket's upper bound as client_golang has it (what Prometheus shows), one
 * ulp above and below it, and its negative.
 */
export function valuesAroundBounds(schema: number, from: number, to: number, step = 1): number[] {
  const values: number[] = [];
  for (let index = from; index <= to; index += step) {
    let bound = 2 ** (index / 2 ** schema);
    while (goKey(bound, schema) > index) bound = ulpsFrom(bound, -1);
    while (goKey(ulpsFrom(bound, 1), schema) === index) bound = ulpsFrom(bound, 1);
    values.push(bound, ulpsFrom(bound, 1), ulpsFrom(bound, -1), -bound);
  }
  return values;
}

/** The i-th value a storm of test/helpers/native-worker.ts observes: spread over `decades` decades around 1, a fifth negative. */
export function stormValue(seed: number, decades: number, i: number): number {
  const x = Math.sin(seed * 1000 + i) * 10000;
  const fraction = x - Math.floor(x);
  return (i % 5 === 0 ? -1 : 1) * 10 ** ((fraction - 0.5) * decades);
}
