// The counting every writer of the concurrency tests does (a forked process, a
// cluster worker, a worker thread), and the merged totals it must add up to.
import { Counter, Gauge, Histogram } from '../../src/index.js';
import { seriesKey } from './concurrency-checks.js';

export interface WorkloadSpec {
  /** Increments through the handles taken before the files grow, half before and half after the growth. */
  increments: number;
  /** Counter series created between the two halves, enough to grow the counter file past 64 KiB. */
  growthSeries: number;
  /** Histogram children created between the two halves. */
  growthRoutes: number;
  /** Increments between two short pauses, so that scrapes see the work in progress. */
  batch: number;
}

export const JOBS = { name: 'conc_jobs_total', help: 'Jobs done by the concurrency test writers.', labelNames: ['kind'] as const };
export const LATENCY = { name: 'conc_latency', help: 'Observed latencies.', labelNames: ['route'] as const, buckets: [0.1, 1, 5] };
/** The `le` labels of LATENCY's buckets, as the files and the exposition spell them. */
export const LATENCY_LES = ['0.1', '1.0', '5.0', '+Inf'];
export const PROCESSED = { name: 'conc_processed', help: 'Work units processed by live writers.' };
/** PROCESSED is a livesum gauge: it counts live writers only, so it drops when one exits and is gone once all have. */

/** The label values of the handles every writer takes before its files grow. */
export const HELD_KINDS = ['alpha', 'beta', 'gamma', 'delta'];
export const HELD_ROUTE = 'held';
/** Dyadic fractions: their sums are exact in any order, so merged sums compare exactly. */
const OBSERVED_VALUES = [0.0625, 0.5, 2, 8];
const GROWTH_OBSERVATION = 0.5;
/** GROWTH_OBSERVATION's one count, in the le="1.0" bucket. */
const GROWTH_BUCKET_COUNTS = [0, 1, 0, 0];

export function growthKind(i: number): string {
  return `series-${i}`;
}

export function growthRoute(i: number): string {
  return `route-${i}`;
}

function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1));
}

/**
 * Counts one writer's share. `onGrown` runs once the files have grown and
 * before the handles taken earlier are used again (the tests scrape then).
 */
export async function runWorkload(spec: WorkloadSpec, onGrown?: () => Promise<void>): Promise<void> {
  const jobs = new Counter({ name: JOBS.name, help: JOBS.help, labelNames: [...JOBS.labelNames] });
  const latency = new Histogram({ name: LATENCY.name, help: LATENCY.help, labelNames: [...LATENCY.labelNames], buckets: LATENCY.buckets });
  const processed = new Gauge({ name: PROCESSED.name, help: PROCESSED.help, multiprocessMode: 'livesum' });

  // Taken while every file is still at its initial 64 KiB.
  const heldJobs = HELD_KINDS.map((kind) => jobs.labels(kind));
  const heldLatency = latency.labels(HELD_ROUTE);

  const countRange = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i++) {
      heldJobs[i % heldJobs.length].inc();
      if (i % 4 === 0) heldLatency.observe(OBSERVED_VALUES[(i / 4) % OBSERVED_VALUES.length]);
      processed.inc();
      if ((i + 1) % spec.batch === 0) await pause();
    }
  };

  const half = Math.floor(spec.increments / 2);
  await countRange(0, half);
  for (let i = 0; i < spec.growthSeries; i++) jobs.inc({ kind: growthKind(i) });
  for (let i = 0; i < spec.growthRoutes; i++) latency.labels(growthRoute(i)).observe(GROWTH_OBSERVATION);
  if (onGrown) await onGrown();
  await countRange(half, spec.increments);
}

/** What one writer's own counter file must hold for each held kind. */
export function expectedPerWriterKind(spec: WorkloadSpec): Map<string, number> {
  const perKind = new Map<string, number>(HELD_KINDS.map((k) => [k, 0]));
  for (let i = 0; i < spec.increments; i++) {
    const kind = HELD_KINDS[i % HELD_KINDS.length];
    perKind.set(kind, perKind.get(kind)! + 1);
  }
  return perKind;
}

/** Every merged sample `writers` writers of `spec` leave behind, by series key. */
export function expectedSamples(spec: WorkloadSpec, writers: number): Map<string, number> {
  const expected = new Map<string, number>();
  for (const [kind, count] of expectedPerWriterKind(spec)) expected.set(seriesKey(JOBS.name, { kind }), count * writers);
  for (let i = 0; i < spec.growthSeries; i++) expected.set(seriesKey(JOBS.name, { kind: growthKind(i) }), writers);

  const histogram = (route: string, counts: readonly number[], sum: number): void => {
    let cumulative = 0;
    counts.forEach((count, i) => {
      cumulative += count;
      expected.set(seriesKey(`${LATENCY.name}_bucket`, { le: LATENCY_LES[i], route }), cumulative * writers);
    });
    expected.set(seriesKey(`${LATENCY.name}_sum`, { route }), sum * writers);
    expected.set(seriesKey(`${LATENCY.name}_count`, { route }), cumulative * writers);
  };
  const heldCounts = LATENCY_LES.map(() => 0);
  let heldSum = 0;
  for (let i = 0; i < spec.increments; i += 4) {
    const value = OBSERVED_VALUES[(i / 4) % OBSERVED_VALUES.length];
    const bucket = LATENCY.buckets.findIndex((bound) => value <= bound);
    heldCounts[bucket === -1 ? LATENCY.buckets.length : bucket]++;
    heldSum += value;
  }
  histogram(HELD_ROUTE, heldCounts, heldSum);
  for (let i = 0; i < spec.growthRoutes; i++) histogram(growthRoute(i), GROWTH_BUCKET_COUNTS, GROWTH_OBSERVATION);

  // The livesum gauge is not expected: its writers have exited, and gauges of dead writers are not exported.
  return expected;
}
