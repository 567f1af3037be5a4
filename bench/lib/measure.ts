// The scrape measurement every collector process of the scrape benchmark runs
// (ours, prom-client's cluster primary, prom-client in one process), so that
// all systems are timed, counted and weighed the same way.
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { percentile } from './stats.js';

export interface ScrapeOptions {
  /** Warm scrapes wanted after the cold one. */
  scrapes: number;
  /** Stop the warm scrapes after this long (at least `minWarm` are made). */
  budgetMs: number;
  minWarm: number;
}

/** Tells the parent process that a scrape finished, so that its watchdog knows the run is alive. */
export function heartbeat(): void {
  process.send?.({ type: 'heartbeat' });
}

export interface MemorySnapshot {
  rssMb: number;
  heapUsedMb: number;
  /** Buffers and other memory outside the V8 heap (file contents read into Buffers count here). */
  externalMb: number;
}

export interface ScrapeStats {
  coldMs: number;
  coldCpuMs: number;
  warmMs: number[];
  warmCpuMs: number[];
  warmP50Ms: number;
  warmP99Ms: number;
  warmCpuP50Ms: number;
  /** Bytes of the last exposition (UTF-8). */
  bytes: number;
  /** Sample lines of the workload's families in the last exposition. */
  samples: number;
  before: MemorySnapshot;
  after: MemorySnapshot;
  rssDeltaMb: number;
  heapDeltaMb: number;
  /** Peak RSS of the collector process over its whole life. */
  maxRssMb: number;
  /** Whether global.gc ran before both memory snapshots (node --expose-gc). */
  gcForced: boolean;
  errors: string[];
}

const MB = 1024 * 1024;

function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  gc();
  gc();
  return true;
}

export function memorySnapshot(): MemorySnapshot {
  const usage = process.memoryUsage();
  return { rssMb: usage.rss / MB, heapUsedMb: usage.heapUsed / MB, externalMb: usage.external / MB };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/** Lines of the exposition whose sample name starts with `prefix` (comments excluded). */
export function countSamples(text: string, prefix: string): number {
  let count = 0;
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\n', at);
    const stop = end < 0 ? text.length : end;
    if (text.startsWith(prefix, at)) count++;
    at = stop + 1;
  }
  return count;
}

/**
 * Times one cold scrape (the first call of `scrape`) and then warm scrapes
 * back to back until `scrapes` or the time budget is reached. A failed scrape
 * is recorded and not timed. Memory is taken after a forced GC before the cold
 * scrape and after the last one, while the collector is still referenced.
 */
export async function measureScrapes(
  scrape: () => Promise<string>,
  samplePrefix: string,
  options: ScrapeOptions,
): Promise<ScrapeStats> {
  const errors: string[] = [];
  const gcForced = collectGarbage();
  const before = memorySnapshot();

  let cpu = process.cpuUsage();
  let start = performance.now();
  let text = await scrape();
  const coldMs = performance.now() - start;
  const coldCpuMs = cpuMs(cpu);
  heartbeat();

  const warmMs: number[] = [];
  const warmCpuMs: number[] = [];
  const phaseStart = performance.now();
  for (let i = 0; i < options.scrapes; i++) {
    if (warmMs.length >= options.minWarm && performance.now() - phaseStart > options.budgetMs) break;
    // Lets the process's own timers (updates, IPC) run between scrapes, as between two real scrapes.
    await new Promise((resolve) => setImmediate(resolve));
    cpu = process.cpuUsage();
    start = performance.now();
    try {
      text = await scrape();
    } catch (err) {
      errors.push((err as Error).message);
      if (errors.length > 3 && warmMs.length === 0) break;
      continue;
    }
    warmMs.push(performance.now() - start);
    warmCpuMs.push(cpuMs(cpu));
    heartbeat();
  }

  collectGarbage();
  const after = memorySnapshot();
  return {
    coldMs,
    coldCpuMs,
    warmMs,
    warmCpuMs,
    warmP50Ms: percentile(warmMs, 50),
    warmP99Ms: percentile(warmMs, 99),
    warmCpuP50Ms: percentile(warmCpuMs, 50),
    bytes: Buffer.byteLength(text),
    samples: countSamples(text, samplePrefix),
    before,
    after,
    rssDeltaMb: after.rssMb - before.rssMb,
    heapDeltaMb: after.heapUsedMb - before.heapUsedMb,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    gcForced,
    errors,
  };
}

/** Resident memory of other processes (Linux /proc), in MB; undefined where it cannot be read. */
export function rssOfPids(pids: readonly number[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      if (!match) return undefined;
      total += Number(match[1]) / 1024;
    } catch {
      return undefined;
    }
  }
  return total;
}
