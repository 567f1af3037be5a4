/**
 * A summary's quantiles over a sliding window, for in-process mode: a ring
 * of `ageBuckets` t-digests (the `tdigest` package, as prom-client uses),
 * rotated every maxAgeSeconds / ageBuckets. It reproduces prom-client's
 * exactly, so in-process quantiles are the numbers prom-client reports:
 * every observation goes into each digest of the ring, and until the first
 * rotation the ring's places share one digest (prom-client fills the ring
 * with a single instance). Its fields have prom-client's names, for code
 * (and prom-client's tests) that inspects the ring.
 */

interface TDigest {
  push(value: number): void;
  percentile(quantile: number): number | undefined;
  compress(): void;
  reset(): void;
  size(): number;
}

type TDigestClass = new () => TDigest;
let TDigestCtor: TDigestClass | undefined;

/** Loaded at the first summary: most processes never need it. */
function newDigest(): TDigest {
  TDigestCtor ??= (require('tdigest') as { TDigest: TDigestClass }).TDigest;
  return new TDigestCtor();
}

export class TimeWindowQuantiles {
  readonly ringBuffer: TDigest[];
  currentBuffer = 0;
  lastRotateTimestampMillis = Date.now();
  readonly durationBetweenRotatesMillis: number;
  private readonly rotates: boolean;

  constructor(maxAgeSeconds: number | undefined, ageBuckets: number | undefined) {
    this.rotates = Boolean(maxAgeSeconds && ageBuckets);
    this.ringBuffer = Array<TDigest>(ageBuckets === undefined ? 1 : ageBuckets).fill(newDigest());
    this.durationBetweenRotatesMillis = ((maxAgeSeconds ?? 0) * 1000) / (ageBuckets ?? 0) || Infinity;
  }

  size(): number {
    return this.rotate().size();
  }

  percentile(quantile: number): number | undefined {
    return this.rotate().percentile(quantile);
  }

  push(value: number): void {
    this.rotate();
    for (const digest of this.ringBuffer) digest.push(value);
  }

  reset(): void {
    for (const digest of this.ringBuffer) digest.reset();
  }

  compress(): void {
    for (const digest of this.ringBuffer) digest.compress();
  }

  private rotate(): TDigest {
    let since = Date.now() - this.lastRotateTimestampMillis;
    while (this.rotates && since > this.durationBetweenRotatesMillis) {
      this.ringBuffer[this.currentBuffer] = newDigest();
      this.currentBuffer = (this.currentBuffer + 1) % this.ringBuffer.length;
      since -= this.durationBetweenRotatesMillis;
      this.lastRotateTimestampMillis += this.durationBetweenRotatesMillis;
    }
    return this.ringBuffer[this.currentBuffer];
  }
}
