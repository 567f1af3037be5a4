/**
 * Native (exponential, sparse) histograms: the value model every layer
 * shares, and its arithmetic. A bucket of schema `s` and index `i` holds the
 * observations `v` with base^(i-1) < |v| <= base^i, where base = 2^(2^-s);
 * observations with |v| <= zeroThreshold go to the zero bucket. Pure: numbers
 * in, numbers out.
 *
 * Bucket boundaries are those of client_golang and Prometheus: not computed
 * with Math.pow (which differs from them in the last bits for 337 of the 510
 * boundaries of schemas 1 to 8, putting observations on a boundary into the
 * neighbouring bucket) but read from the fixed table they share, FRACTIONS
 * below. Every schema's index is derived from the schema-8 index, which is
 * exact (see reduceIndex()): one table, one lookup.
 */
export interface NativeHistogramData {
  /** -4 (coarsest, base 65536) to 8 (finest, base 2^(1/256)). */
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  sum: number;
  /** zeroCount plus every bucket's count: derived from the buckets, never stored apart (a scrape must never see fewer observations than the buckets hold). */
  count: number;
  /** Buckets of positive observations: ascending index, counts above 0. */
  positive: ReadonlyArray<readonly [index: number, count: number]>;
  /** Buckets of negative observations, by the index of |v|: ascending index, counts above 0. */
  negative: ReadonlyArray<readonly [index: number, count: number]>;
}

export const MIN_SCHEMA = -4;
export const MAX_SCHEMA = 8;

/** client_golang's default zero threshold, 2^-128: a bucket boundary at every schema. */
export const DEFAULT_ZERO_THRESHOLD = 2 ** -128;

/**
 * 2^(j/256 - 1) for j = 0..255 as the IEEE 754 bits (hex) of the doubles in
 * client_golang's `nativeHistogramBounds[8]` and Prometheus'
 * `exponentialBounds[8]`; schema s < 8 uses every 2^(8-s)-th entry, as their
 * tables do. These are the ecosystem's boundaries, not the correctly rounded
 * values (theirs came from repeated multiplication and are off by up to 4
 * ulp); agreeing with them is what keeps an observation equal to a bound
 * Prometheus shows in the bucket Prometheus says it is in.
 * test/native-histogram.test.ts checks them against the published decimals.
 */
const FRACTION_BITS = [
  '3fe0000000000000', '3fe00b1afa5abcbf', '3fe0163da9fb3335', '3fe02168143b0281',
  '3fe02c9a3e778061', '3fe037d42e11bbcc', '3fe04315e86e7f84', '3fe04e5f72f654b1',
  '3fe059b0d3158574', '3fe0650a0e3c1f89', '3fe0706b29ddf6dd', '3fe07bd42b72a836',
  '3fe0874518759bc8', '3fe092bdf66607e0', '3fe09e3ecac6f383', '3fe0a9c79b1f3919',
  '3fe0b5586cf9890f', '3fe0c0f145e46c85', '3fe0cc922b7247f6', '3fe0d83b23395dea',
  '3fe0e3ec32d3d1a2', '3fe0efa55fdfa9c5', '3fe0fb66affed31a', '3fe1073028d7233d',
  '3fe11301d0125b50', '3fe11edbab5e2ab5', '3fe12abdc06c31cb', '3fe136a814f204aa',
  '3fe1429aaea92ddf', '3fe14e95934f312d', '3fe15a98c8a58e50', '3fe166a45471c3c1',
  '3fe172b83c7d517b', '3fe17ed48695bbc0', '3fe18af9388c8de9', '3fe1972658375d2f',
  '3fe1a35beb6fcb75', '3fe1af99f8138a1c', '3fe1bbe084045cd3', '3fe1c82f95281c6b',
  '3fe1d4873168b9aa', '3fe1e0e75eb44026', '3fe1ed5022fcd91c', '3fe1f9c18438ce4c',
  '3fe2063b88628cd6', '3fe212be3578a819', '3fe21f49917ddc95', '3fe22bdda27912d0',
  '3fe2387a6e756238', '3fe2451ffb82140a', '3fe251ce4fb2a63e', '3fe25e85711ece74',
  '3fe26b4565e27cdd', '3fe2780e341ddf2a', '3fe284dfe1f56380', '3fe291ba7591bb6f',
  '3fe29e9df51fdee1', '3fe2ab8a66d10f13', '3fe2b87fd0dad98f', '3fe2c57e39771b2e',
  '3fe2d285a6e4030b', '3fe2df961f641589', '3fe2ecafa93e2f55', '3fe2f9d24abd886a',
  '3fe306fe0a31b715', '3fe31432edeeb2fd', '3fe32170fc4cd831', '3fe32eb83ba8ea32',
  '3fe33c08b26416ff', '3fe3496266e3fa2d', '3fe356c55f929ff0', '3fe36431a2de883a',
  '3fe371a7373aa9ca', '3fe37f26231e7549', '3fe38cae6d05d864', '3fe39a401b7140ed',
  '3fe3a7db34e59ff6', '3fe3b57fbfec6cf4', '3fe3c32dc313a8e3', '3fe3d0e544ede172',
  '3fe3dea64c123422', '3fe3ec70df1c5175', '3fe3fa4504ac801b', '3fe40822c367a024',
  '3fe4160a21f72e2a', '3fe423fb2709468a', '3fe431f5d950a896', '3fe43ffa3f84b9d4',
  '3fe44e086061892d', '3fe45c2042a7d232', '3fe46a41ed1d0057', '3fe4786d668b3236',
  '3fe486a2b5c13cd0', '3fe494e1e192aed2', '3fe4a32af0d7d3de', '3fe4b17dea6db7d7',
  '3fe4bfdad5362a27', '3fe4ce41b817c114', '3fe4dcb299fddd0d', '3fe4eb2d81d8abfe',
  '3fe4f9b2769d2ca7', '3fe508417f4531ef', '3fe516daa2cf6642', '3fe5257de83f4eef',
  '3fe5342b569d4f81', '3fe542e2f4f6ad27', '3fe551a4ca5d920d', '3fe56070dde910d0',
  '3fe56f4736b527da', '3fe57e27dbe2c4cf', '3fe58d12d497c7fc', '3fe59c0827ff07cb',
  '3fe5ab07dd485429', '3fe5ba11fba87a02', '3fe5c9268a5946b6', '3fe5d84590998b92',
  '3fe5e76f15ad2148', '3fe5f6a320dceb71', '3fe605e1b976dc08', '3fe6152ae6cdf6f4',
  '3fe6247eb03a5584', '3fe633dd1d1929fd', '3fe6434634ccc31e', '3fe652b9febc8fb5',
  '3fe6623882552224', '3fe671c1c70833f5', '3fe68155d44ca972', '3fe690f4b19e9537',
  '3fe6a09e667f3bcc', '3fe6b052fa75173e', '3fe6c012750bdabe', '3fe6cfdcddd47645',
  '3fe6dfb23c651a2e', '3fe6ef9298593ae4', '3fe6ff7df9519482', '3fe70f7466f42e85',
  '3fe71f75e8ec5f73', '3fe72f8286ead089', '3fe73f9a48a58172', '3fe74fbd35d7cbfc',
  '3fe75feb564267c8', '3fe77024b1ab6e09', '3fe780694fde5d3e', '3fe790b938ac1cf5',
  '3fe7a11473eb0186', '3fe7b17b0976cfda', '3fe7c1ed0130c131', '3fe7d26a62ff86ef',
  '3fe7e2f336cf4e61', '3fe7f3878491c490', '3fe80427543e1a10', '3fe814d2add106d8',
  '3fe82589994cce11', '3fe8364c1eb941f6', '3fe8471a4623c7ab', '3fe857f4179f5b1f',
  '3fe868d99b4492eb', '3fe879cad931a435', '3fe88ac7d98a6697', '3fe89bd0a478580d',
  '3fe8ace5422aa0db', '3fe8be05bad61778', '3fe8cf3216b5448b', '3fe8e06a5e0866d8',
  '3fe8f1ae99157736', '3fe902fed0282c8a', '3fe9145b0b91ffc5', '3fe925c353aa2fe2',
  '3fe93737b0cdc5e4', '3fe948b82b5f98e4', '3fe95a44cbc8520d', '3fe96bdd9a7670b1',
  '3fe97d829fde4e4f', '3fe98f33e47a22a2', '3fe9a0f170ca07b8', '3fe9b2bb4d53fe0b',
  '3fe9c49182a3f08f', '3fe9d674194bb8d4', '3fe9e86319e32321', '3fe9fa5e8d07f29c',
  '3fea0c667b5de564', '3fea1e7aed8eb8bb', '3fea309bec4a2d32', '3fea42c980460ad7',
  '3fea5503b23e255b', '3fea674a8af46051', '3fea799e1330b356', '3fea8bfe53c12e57',
  '3fea9e6b5579fdbe', '3feab0e521356eb9', '3feac36bbfd3f378', '3fead5ff3a3c2773',
  '3feae89f995ad3ac', '3feafb4ce622f2fe', '3feb0e07298db663', '3feb20ce6c9a8950',
  '3feb33a2b84f15fa', '3feb468415b749b0', '3feb59728de55938', '3feb6c6e29f1c529',
  '3feb7f76f2fb5e45', '3feb928cf22749e2', '3feba5b030a10647', '3febb8e0b79a6f1d',
  '3febcc1e904bc1d0', '3febdf69c3f3a205', '3febf2c25bd71e06', '3fec06286141b33b',
  '3fec199bdd85529a', '3fec2d1cd9fa652a', '3fec40ab5fffd078', '3fec544778fafb20',
  '3fec67f12e57d149', '3fec7ba88988c931', '3fec8f6d9406e7b2', '3feca3405751c4d8',
  '3fecb720dcef9066', '3feccb0f2e6d1672', '3fecdf0b555dc3f6', '3fecf3155b5bab70',
  '3fed072d4a078979', '3fed1b532b08c966', '3fed2f87080d89ee', '3fed43c8eacaa1d3',
  '3fed5818dcfba486', '3fed6c76e862e6d2', '3fed80e316c98396', '3fed955d71ff6074',
  '3feda9e603db3284', '3fedbe7cd63a8313', '3fedd321f301b45e', '3fede7d5641c0656',
  '3fedfc97337b9b5d', '3fee11676b197d16', '3fee264614f5a126', '3fee3b333b16ee0f',
  '3fee502ee78b3ff5', '3fee653924676d75', '3fee7a51fbc74c81', '3fee8f7977cdb73e',
  '3feea4afa2a490d8', '3feeb9f4867cca6d', '3feecf482d8e67ee', '3feee4aaa218850e',
  '3feefa1bee615a26', '3fef0f9c1cb64129', '3fef252b376bba95', '3fef3ac948dd7272',
  '3fef50765b6e453e', '3fef6632798844f6', '3fef7bfdad9cbe10', '3fef91d802243c86',
  '3fefa7c1819e90d6', '3fefbdba3692d512', '3fefd3c22b8f71ee', '3fefe9d96b2a23d6'
];

/** The table above as numbers: 0.5 <= FRACTIONS[j] < 1. */
export const FRACTIONS: Float64Array = new Float64Array(256);

/**
 * The boundaries' 52 mantissa bits, as a high (20 bits) and a low (32 bits)
 * word: comparing a value's mantissa with them word by word is comparing its
 * significand with the boundary (both in [1, 2)), without building a double.
 * Index 256 stands for 2, above every mantissa.
 */
const BOUND_HIGH = new Int32Array(257);
const BOUND_LOW = new Uint32Array(257);
{
  // Each entry read as its two 32-bit words, exactly (little-endian hosts, as finestIndex() below):
  // these tables are built by every process that loads the package, and a BigInt per entry cost it 2 ms.
  const fractionWords = new Uint32Array(FRACTIONS.buffer);
  for (let j = 0; j < 256; j++) {
    const high = parseInt(FRACTION_BITS[j].slice(0, 8), 16);
    const low = parseInt(FRACTION_BITS[j].slice(8), 16);
    fractionWords[2 * j] = low;
    fractionWords[2 * j + 1] = high;
    BOUND_HIGH[j] = high & 0xfffff;
    BOUND_LOW[j] = low;
  }
}
BOUND_HIGH[256] = 0x100000;

/**
 * Per 1/1024 of the significand range [1, 2) (the top 10 mantissa bits),
 * the smallest j whose boundary is at or above the start of that range.
 * Boundaries are at least 2^(1/256) - 1 > 1/1024 apart, so a range holds at
 * most one: a value's index is its range's entry or the next one, told by
 * one comparison.
 */
const RANGE_START_INDEX = new Uint16Array(1024);
// One pass: the smallest such j never decreases from one range to the next.
for (let range = 0, j = 0; range < 1024; range++) {
  while (BOUND_HIGH[j] >>> 10 < range) j++;
  RANGE_START_INDEX[range] = j;
}

/** The words of one double, for finestIndex(): reused, so that it allocates nothing. */
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);

/**
 * The schema-8 index of the bucket of `magnitude`, a finite number above 0:
 * client_golang's frexp and table search, done on the bits (little-endian
 * hosts, as the file format). No allocation: this is on the hot path.
 */
export function finestIndex(magnitude: number): number {
  scratch[0] = magnitude;
  let high = scratchWords[1];
  let shift = 0;
  if (high < 0x100000) {
    // Subnormal: scaled by 2^64 (exact), it is normal.
    scratch[0] = magnitude * 18446744073709551616;
    high = scratchWords[1];
    shift = 64 * 256;
  }
  const mantissaHigh = high & 0xfffff;
  let j = RANGE_START_INDEX[mantissaHigh >>> 10];
  if (mantissaHigh > BOUND_HIGH[j] || (mantissaHigh === BOUND_HIGH[j] && scratchWords[0] > BOUND_LOW[j])) j++;
  return j + ((high >>> 20) - 1023) * 256 - shift;
}

/**
 * The index at schema s - `by` of the bucket that holds bucket `index` of
 * schema s: ceil(index / 2^by). Exact for every integer (a bucket of the
 * finer schema lies wholly inside one of the coarser), which is what makes
 * merging processes at different schemas exact.
 */
export function reduceIndex(index: number, by: number): number {
  return ((index - 1) >> by) + 1;
}

/** The index at `schema` of the bucket of `magnitude` (finite, above 0). */
export function bucketIndex(magnitude: number, schema: number): number {
  return reduceIndex(finestIndex(magnitude), MAX_SCHEMA - schema);
}

/** frac * 2^exp without the overflow or underflow of computing 2^exp alone. */
function scaled(frac: number, exp: number): number {
  if (exp > 1000) return frac * 2 ** (exp - 100) * 2 ** 100;
  if (exp < -1000) return frac * 2 ** (exp + 200) * 2 ** -200;
  return frac * 2 ** exp;
}

/**
 * The upper bound of bucket `index` at `schema`, as client_golang's getLe()
 * and Prometheus compute it: the last finite bucket's is Number.MAX_VALUE
 * (its formula gives 2^1024), the next one's +Inf.
 */
export function bucketUpperBound(index: number, schema: number): number {
  if (schema <= 0) {
    const exp = index * 2 ** -schema;
    return exp === 1024 ? Number.MAX_VALUE : scaled(1, exp);
  }
  const frac = FRACTIONS[(index & ((1 << schema) - 1)) << (MAX_SCHEMA - schema)];
  const exp = (index >> schema) + 1;
  return frac === 0.5 && exp === 1025 ? Number.MAX_VALUE : scaled(frac, exp);
}

/**
 * The schema client_golang picks for `factor` (> 1): the finest whose growth
 * factor 2^(2^-schema) is at most `factor`, between -4 and 8 (8 for factors
 * below 2^(1/256)). Decided exactly (2^(2^-n) <= f is 2 <= f^(2^n) for n > 0,
 * in integers), where client_golang's two logarithms could round across a
 * boundary.
 */
export function schemaForFactor(factor: number): number {
  for (let schema = MIN_SCHEMA; schema <= MAX_SCHEMA; schema++) {
    if (schema <= 0 ? factor >= 2 ** 2 ** -schema : powerOfTwoPowerAtLeastTwo(factor, schema)) return schema;
  }
  return MAX_SCHEMA;
}

/** Whether f^(2^n) >= 2, computed exactly: f = m * 2^e with an integer m. */
function powerOfTwoPowerAtLeastTwo(f: number, n: number): boolean {
  if (f >= 2) return true;
  // f in (1, 2): f = m / 2^52 with m an integer below 2^53.
  const m = BigInt(f * 2 ** 52);
  const power = 2n ** BigInt(n);
  return m ** power >= 2n ** (52n * power + 1n);
}

/** Which bucket an entry of a native histogram file counts. */
export type NativeBucket =
  | { kind: 'zero'; schema: number; threshold: number }
  | { kind: 'positive' | 'negative'; schema: number; index: number };

/**
 * A bucket's name in a file key (docs/format.md): `zero:<schema>:<threshold>`,
 * `pos:<schema>:<index>`, `neg:<schema>:<index>`; numbers as JavaScript
 * prints them, so every bucket has exactly one name.
 */
export function nativeBucketName(bucket: NativeBucket): string {
  if (bucket.kind === 'zero') return `zero:${bucket.schema}:${bucket.threshold}`;
  return `${bucket.kind === 'positive' ? 'pos' : 'neg'}:${bucket.schema}:${bucket.index}`;
}

const BUCKET_NAME = /^(zero|pos|neg):(-?\d):([^:]+)$/;
const INDEX = /^(?:0|-?[1-9]\d*)$/;

/** The bucket a name from a file stands for; undefined for anything nativeBucketName() does not write. */
export function parseNativeBucketName(name: string): NativeBucket | undefined {
  const match = BUCKET_NAME.exec(name);
  if (!match) return undefined;
  const schema = Number(match[2]);
  if (schema < MIN_SCHEMA || schema > MAX_SCHEMA || match[2] === '-0') return undefined;
  const number = Number(match[3]);
  if (match[1] === 'zero') {
    if (!(number >= 0) || !Number.isFinite(number) || String(number) !== match[3]) return undefined;
    return { kind: 'zero', schema, threshold: number };
  }
  // Indexes of finite values at schema 8 lie within +-(1074 + 1024) * 256: far inside 32 bits.
  if (!INDEX.test(match[3]) || Math.abs(number) > 2 ** 30) return undefined;
  return { kind: match[1] === 'pos' ? 'positive' : 'negative', schema, index: number };
}

/**
 * Whether `n` is a count a writer stores in a bucket entry: a whole number
 * from 0 to 2^53 (writers add 1 at a time). Anything else (NaN, an
 * infinity, a negative or fractional number: a damaged file) is no count,
 * and a reader takes it as 0: added, it would make a histogram Prometheus
 * rejects (a negative bucket, a count that is not its buckets' sum) or a
 * quantile of no rank, and would spoil the same bucket's counts from good files.
 */
export function isStoredCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * Gathers the bucket counts of one series, from any number of writers at
 * any schemas, into one NativeHistogramData: every bucket reduced to the
 * lowest schema met (a zero bucket's schema, which its writer started at,
 * counts too; so does a bucket counting 0: the schema of a series only
 * falls while its entries exist), then added. Zero thresholds that differ
 * (writers configured differently) merge as Prometheus merges them: the
 * largest wins, and every bucket reaching below it joins the zero bucket,
 * the threshold rising to that bucket's upper bound.
 */
export class NativeHistogramBuilder {
  private schema = Infinity;
  private threshold = -Infinity;
  private thresholds = 0;
  private zeroCount = 0;
  /** Per bucket added: sign (1, -1), schema, index, count. */
  private readonly buckets: number[] = [];

  addZero(schema: number, threshold: number, count: number): void {
    if (schema < this.schema) this.schema = schema;
    if (threshold !== this.threshold) {
      this.thresholds++;
      if (threshold > this.threshold) this.threshold = threshold;
    }
    this.zeroCount += count;
  }

  addBucket(sign: 1 | -1, schema: number, index: number, count: number): void {
    if (schema < this.schema) this.schema = schema;
    this.buckets.push(sign, schema, index, count);
  }

  /** The merged histogram, with `sum` (stored with the classic entries); undefined when nothing was added. */
  build(sum: number): NativeHistogramData | undefined {
    if (this.schema === Infinity) return undefined;
    const schema = this.schema;
    const positive = new Map<number, number>();
    const negative = new Map<number, number>();
    const b = this.buckets;
    for (let i = 0; i < b.length; i += 4) {
      const into = b[i] === 1 ? positive : negative;
      const index = reduceIndex(b[i + 2], b[i + 1] - schema);
      into.set(index, (into.get(index) ?? 0) + b[i + 3]);
    }
    let zeroCount = this.zeroCount;
    let threshold = this.threshold === -Infinity ? 0 : this.threshold;
    if (this.thresholds > 1) {
      // Buckets ascend with their index, on both sides: fold from the lowest up while one reaches below the threshold.
      for (let folded = true; folded; ) {
        folded = false;
        for (const side of [positive, negative]) {
          for (const index of [...side.keys()].sort((x, y) => x - y)) {
            if (bucketUpperBound(index - 1, schema) >= threshold) break;
            zeroCount += side.get(index)!;
            side.delete(index);
            const upper = bucketUpperBound(index, schema);
            if (upper > threshold) {
              threshold = upper;
              folded = true;
            }
          }
        }
      }
    }
    const sorted = (side: Map<number, number>): Array<[number, number]> =>
      [...side].filter(([, count]) => count > 0).sort((x, y) => x[0] - y[0]);
    const positiveBuckets = sorted(positive);
    const negativeBuckets = sorted(negative);
    let count = zeroCount;
    for (const [, c] of positiveBuckets) count += c;
    for (const [, c] of negativeBuckets) count += c;
    return { schema, zeroThreshold: threshold, zeroCount, sum, count, positive: positiveBuckets, negative: negativeBuckets };
  }
}
