/**
 * A summary's quantiles over a sliding window, for in-process mode: a ring
 * of `ageBuckets` t-digests (the `tdigest` package, as prom-client uses),
 * rotated every maxAgeSeconds / ageBuckets. It reproduces prom-client's
 * exactly, so in-process quantiles are the numbers prom-client reports:
 * every observation goes into each digest of the ring, and until the first
 * rotation the ring's places share one digest (prom-client fills the ring
 * with a single instance).
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
  private readonly ring: TDigest[];
  private current = 0;
  private lastRotation = Date.now();
  private readonly rotationMs: number;
  private readonly rotates: boolean;

  constructor(maxAgeSeconds: number | undefined, ageBuckets: number | undefined) {
    this.rotates = Boolean(maxAgeSeconds && ageBuckets);
    this.ring = Array<TDigest>(ageBuckets === undefined ? 1 : ageBuckets).fill(newDigest());
    this.rotationMs = ((maxAgeSeconds ?? 0) * 1000) / (ageBuckets ?? 0) || Infinity;
  }

  size(): number {
    return this.rotate().size();
  }

  percentile(quantile: number): number | undefined {
    return this.rotate().percentile(quantile);
  }

  push(value: number): void {
    this.rotate();
    for (const digest of this.ring) digest.push(value);
  }

  reset(): void {
    for (const digest of this.ring) digest.reset();
  }

  compress(): void {
    for (const digest of this.ring) digest.compress();
  }

  private rotate(): TDigest {
    let since = Date.now() - this.lastRotation;
    while (this.rotates && since > this.rotationMs) {
      this.ring[this.current] = newDigest();
      this.current = (this.current + 1) % this.ring.length;
      since -= this.rotationMs;
      this.lastRotation += this.rotationMs;
    }
    return this.ring[this.current];
  }
}
