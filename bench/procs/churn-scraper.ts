// The serving process of the churn benchmark: one long-lived process with one
// MultiprocessRegistry per directory, as a service keeps one for its whole
// life. Between checkpoints it scrapes B (with compaction) every
// `scrapeIntervalMs`, as Prometheus would scrape the service, so that B's
// registry compacts on its own after a scrape that finds enough dead
// writers. At a checkpoint (message {type: 'checkpoint'}) it measures the
// three directories and checks what they export; see bench/README.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MultiprocessRegistry, SKIPPED_FILES_FAMILY } from '../../src/index.js';
import { JOURNAL_NAME } from '../../src/format/directory-names.js';
import { heartbeat } from '../lib/measure.js';
import { median, percentile } from '../lib/stats.js';
import type { CheckpointRecord, CheckpointRequest, DirectoryFiles, ScraperConfig, ScrapeSeries, ExportCheck, Expected, CompactionStats } from '../churn.js';

const config = JSON.parse(process.argv[2]) as ScraperConfig;
const liveIds = new Set(config.liveIds);

const warnings: string[] = [];
const loggerFor = (label: string) => ({ warn: (message: string) => void warnings.push(`${label}: ${message}`) });
const registryA = new MultiprocessRegistry({ dir: config.dirs.a, compactThreshold: 0, logger: loggerFor('A') });
const registryB = new MultiprocessRegistry({ dir: config.dirs.b, logger: loggerFor('B') });
const registryLive = new MultiprocessRegistry({ dir: config.dirs.live, compactThreshold: 0, logger: loggerFor('live-only') });

/** What B's own compactions cost, since the last checkpoint. */
let compactions: number[] = [];
let compactionsCpu: number[] = [];
let compactedWriters = 0;
let backgroundScrapes: number[] = [];

function journalId(): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(config.dirs.b, JOURNAL_NAME), 'utf8')) as { id?: string }).id;
  } catch {
    return undefined;
  }
}

function journalForgets(): number {
  try {
    return (JSON.parse(fs.readFileSync(path.join(config.dirs.b, JOURNAL_NAME), 'utf8')) as { forget?: string[] }).forget?.length ?? 0;
  } catch {
    return 0;
  }
}

async function timed(registry: MultiprocessRegistry): Promise<{ ms: number; text: string }> {
  const start = performance.now();
  const text = await registry.metrics();
  return { ms: performance.now() - start, text };
}

/**
 * Scrapes B and lets the compaction it may have scheduled run: the registry
 * queues it with setImmediate during the scrape, so it runs before ours.
 * Its time is taken from the end of the scrape to that point.
 */
async function scrapeB(): Promise<{ ms: number; text: string; compactionMs?: number }> {
  const before = journalId();
  const scrape = await timed(registryB);
  const start = performance.now();
  const cpu = process.cpuUsage();
  await new Promise((resolve) => setImmediate(resolve));
  const after = journalId();
  if (after === before) return scrape;
  const compactionMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  compactions.push(compactionMs);
  // Wall time on a shared machine includes waiting for a core; CPU time does not.
  compactionsCpu.push((used.user + used.system) / 1000);
  compactedWriters += journalForgets();
  return { ...scrape, compactionMs };
}

let background: NodeJS.Timeout | undefined;
let backgroundRunning: Promise<unknown> | undefined;

function startBackground(): void {
  const next = (): void => {
    background = setTimeout(() => {
      backgroundRunning = scrapeB().then(
        (result) => {
          backgroundScrapes.push(result.ms);
          if (background) next();
        },
        (err: unknown) => {
          warnings.push(`B background scrape failed: ${(err as Error).message}`);
          if (background) next();
        },
      );
    }, config.scrapeIntervalMs);
  };
  next();
}

async function stopBackground(): Promise<void> {
  clearTimeout(background);
  background = undefined;
  await backgroundRunning;
}

function idOf(name: string): string {
  return name.slice(name.lastIndexOf('_') + 1, -'.db'.length);
}

function countFiles(dir: string): DirectoryFiles {
  const names = fs.readdirSync(dir);
  const db = names.filter((name) => name.endsWith('.db'));
  const deadIds = new Set(db.map(idOf).filter((id) => !liveIds.has(id) && id !== 'compacted'));
  return {
    entries: names.length,
    db: db.length,
    liveDb: db.filter((name) => liveIds.has(idOf(name))).length,
    compactedDb: db.filter((name) => idOf(name) === 'compacted').length,
    deadDb: db.length - db.filter((name) => liveIds.has(idOf(name)) || idOf(name) === 'compacted').length,
    deadWriters: deadIds.size,
    markers: names.filter((name) => name.endsWith('.writer')).length,
    locks: names.filter((name) => name.endsWith('.lock')).length,
    // Which ended workers are left, with their marker and lock if any, so that a leftover can be explained.
    leftovers: [...deadIds].slice(0, 10).map((id) => names.filter((name) => name === `${id}.writer` || name === `${id}.lock` || (name.endsWith('.db') && idOf(name) === id)).join(' ')),
  };
}

function series(ms: number[]): ScrapeSeries {
  return { n: ms.length, medianMs: median(ms), p90Ms: percentile(ms, 90), minMs: Math.min(...ms), maxMs: Math.max(...ms) };
}

/** Warm scrapes of `scrapers`, interleaved so that a change in the machine's load hits all alike. */
async function interleaved(scrapers: Array<() => Promise<{ ms: number; text: string }>>, wanted: number, budgetMs: number, minimum: number): Promise<{ ms: number[][]; texts: string[] }> {
  const ms: number[][] = scrapers.map(() => []);
  const texts: string[] = scrapers.map(() => '');
  const start = performance.now();
  for (let i = 0; i < wanted; i++) {
    if (i >= minimum && performance.now() - start > budgetMs) break;
    for (let s = 0; s < scrapers.length; s++) {
      // One turn of the event loop between two scrapes, as between two requests.
      await new Promise((resolve) => setImmediate(resolve));
      const result = await scrapers[s]();
      ms[s].push(result.ms);
      texts[s] = result.text;
    }
    heartbeat();
  }
  return { ms, texts };
}

/** Sample lines of the workload families, by name and labels. */
function samplesOf(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(config.samplePrefix)) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

function skippedFiles(text: string): number {
  const match = new RegExp(`^${SKIPPED_FILES_FAMILY}_total (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

function closeEnough(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

function totals(samples: Map<string, number>): Expected {
  const sum = (suffix: string): number => {
    let total = 0;
    for (const [key, value] of samples) if (key.startsWith(suffix + '{')) total += value;
    return total;
  };
  return {
    counter: sum(config.counterSample),
    histogramCount: sum(`${config.histogramFamily}_count`),
    histogramSum: sum(`${config.histogramFamily}_sum`),
  };
}

function matches(got: Expected, expected: Expected): boolean {
  return got.counter === expected.counter && got.histogramCount === expected.histogramCount && closeEnough(got.histogramSum, expected.histogramSum);
}

/** A and B must export the same samples (float sums up to their last digits) and the totals every worker counted. */
function checkExports(textA: string, textB: string, textLive: string, expected: Expected, expectedLive: Expected): ExportCheck {
  const a = samplesOf(textA);
  const b = samplesOf(textB);
  const differences: string[] = [];
  for (const [key, value] of a) {
    const other = b.get(key);
    if (other === undefined) differences.push(`${key}: ${value} in A, missing in B`);
    else if (!(key.includes('_sum{') ? closeEnough(value, other) : value === other)) differences.push(`${key}: ${value} in A, ${other} in B`);
  }
  for (const [key, value] of b) if (!a.has(key)) differences.push(`${key}: missing in A, ${value} in B`);
  const totalsA = totals(a);
  const totalsB = totals(b);
  const totalsLive = totals(samplesOf(textLive));
  const skipped = { a: skippedFiles(textA), b: skippedFiles(textB), live: skippedFiles(textLive) };
  const ok =
    differences.length === 0 &&
    matches(totalsA, expected) &&
    matches(totalsB, expected) &&
    matches(totalsLive, expectedLive) &&
    skipped.a === 0 &&
    skipped.b === 0 &&
    skipped.live === 0;
  return { ok, samplesA: a.size, samplesB: b.size, differences: differences.length, firstDifferences: differences.slice(0, 5), totalsA, totalsB, totalsLive, expected, expectedLive, skippedFiles: skipped };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function compactionStats(): CompactionStats {
  const stats: CompactionStats = {
    count: compactions.length,
    writers: compactedWriters,
    medianMs: median(compactions),
    medianCpuMs: median(compactionsCpu),
    maxMs: compactions.length ? Math.max(...compactions) : NaN,
    totalMs: compactions.reduce((a, b) => a + b, 0),
    backgroundScrapes: series(backgroundScrapes),
  };
  compactions = [];
  compactionsCpu = [];
  compactedWriters = 0;
  backgroundScrapes = [];
  return stats;
}

async function checkpoint(request: CheckpointRequest): Promise<CheckpointRecord> {
  await stopBackground();
  const started = performance.now();
  const filesBBeforeSettling = countFiles(config.dirs.b);

  // A (and the live-only baseline): the first scrape parses what is new since the last checkpoint.
  const catchUpA = await timed(registryA);
  const catchUpLive = await timed(registryLive);
  heartbeat();
  const warmA = await interleaved([() => timed(registryA)], request.scrapesA, request.budgetMs, 3);

  // B: wait until every worker that ended is past the grace compaction waits for, then scrape until
  // the registry has compacted what it will (it compacts after a scrape that finds >= its threshold
  // of dead writers, at most once a second).
  const wait = request.settleUntil - Date.now();
  if (wait > 0) await sleep(wait);
  const settling: Array<{ ms: number; compactionMs?: number; deadWritersAfter: number }> = [];
  for (let i = 0; i < request.settleScrapes; i++) {
    const result = await scrapeB();
    const after = countFiles(config.dirs.b);
    settling.push({ ms: result.ms, compactionMs: result.compactionMs, deadWritersAfter: after.deadWriters });
    if (after.deadWriters < config.compactThreshold) break;
    await sleep(1100);
  }
  const compaction = compactionStats();
  const filesA = countFiles(config.dirs.a);
  const filesB = countFiles(config.dirs.b);
  const filesLive = countFiles(config.dirs.live);
  heartbeat();

  const warm = await interleaved([scrapeB, () => timed(registryLive)], request.scrapesB, request.budgetMs, 10);
  const [warmB, warmLive] = warm.ms;
  const check = checkExports(warmA.texts[0], warm.texts[0], warm.texts[1], request.expected, request.expectedLive);

  let cold: CheckpointRecord['cold'];
  if (request.final) {
    // A service restarted on the same directory: a new registry, nothing parsed yet (this process's JIT is warm).
    const fresh = (dir: string) => timed(new MultiprocessRegistry({ dir, compactThreshold: 0, logger: loggerFor('cold') }));
    cold = { aMs: (await fresh(config.dirs.a)).ms, bMs: (await fresh(config.dirs.b)).ms, liveMs: (await fresh(config.dirs.live)).ms };
  }
  const record: CheckpointRecord = {
    workers: request.workers,
    filesBBeforeSettling,
    files: { a: filesA, b: filesB, live: filesLive },
    catchUpMs: { a: catchUpA.ms, live: catchUpLive.ms },
    settling,
    scrapes: { a: series(warmA.ms[0]), b: series(warmB), live: series(warmLive) },
    ratioBToLive: median(warmB) / median(warmLive),
    ratioAToLive: median(warmA.ms[0]) / median(warmLive),
    rawMs: { a: warmA.ms[0], b: warmB, live: warmLive },
    compaction,
    check,
    cold,
    scraperRssMb: process.memoryUsage().rss / (1024 * 1024),
    warnings: warnings.splice(0),
    checkpointMs: performance.now() - started,
  };
  if (!request.final) startBackground();
  return record;
}

process.on('message', (message: { type?: string }) => {
  if (message?.type === 'start') {
    startBackground();
    process.send!({ type: 'started' });
  } else if (message?.type === 'checkpoint') {
    checkpoint(message as unknown as CheckpointRequest).then(
      (record) => process.send!({ type: 'checkpoint', record }),
      (err: unknown) => process.send!({ type: 'error', message: (err as Error).stack ?? String(err) }),
    );
  }
});
process.on('disconnect', () => process.exit(0));
