// Churn benchmark (issue 4): short-lived workers come and go, each writing
// S series; the number of files and the scrape time with compaction (B)
// against without (A), and against a directory that holds only the live
// workers. See bench/README.md.
//
//   node --import tsx bench/churn.ts [--workers 10000] [--series 200] [--live 4] [--parallel 4]
//     [--kill-fraction 0.2] [--checkpoint-every 500] [--scrapes 20] [--final-scrapes 200]
//     [--budget 5] [--liveness-ms 2000] [--scrape-interval 1000] [--skip-build]
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { COMPACTION_GRACE } from '../src/storage/compaction.js';
import { forkTs, installCleanup, makeTempDir, nextMessage, runAsCommand, spawnTracked, stop } from './lib/processes.js';
import { describeMachine, elapsedLabel, machineInfo, runInfo, writeResults, type RunInfo } from './lib/results.js';
import { formatMs, formatRatio, markdownTable, median } from './lib/stats.js';
import { HISTOGRAM_BUCKETS, counterLabelValues, histogramLabelValues, workloadShape, type WorkloadShape } from './lib/workload.js';

// ---- shapes shared with procs/churn-worker.ts and procs/churn-scraper.ts ----

/** What every churn worker reads from the file named by CHURN_SPEC. */
export interface ChurnSpec {
  /** The built library (dist/), ending in a path separator. */
  distDir: string;
  /** node-pre-gyp's module path and the binary it would find, resolved once by the parent. */
  nodePreGyp?: { modulePath: string; bindingPath: string };
  livenessTimeoutMs: number;
  /** Directories a short-lived worker writes into: A (without compaction) and B (with). */
  shortDirs: string[];
  /** Directories a live worker writes into: A, B and the live-only baseline. */
  liveDirs: string[];
  counter: { name: string; help: string; labelNames: string[]; labels: string[][] };
  histogram: { name: string; help: string; labelNames: string[]; buckets: number[]; labels: string[][] };
  /** Short-lived worker n increments every counter child by 1 + n % amountCycle. */
  amountCycle: number;
  /** Histogram child i of worker (or live tick) n observes observations[(n + i) % length]. */
  observations: number[];
  /** A live worker updates every series once per tick. */
  liveTickMs: number;
}

export interface Expected {
  /** Sum of every counter sample. */
  counter: number;
  /** Sum of every histogram `_count`. */
  histogramCount: number;
  /** Sum of every histogram `_sum`. */
  histogramSum: number;
}
export type LiveTotals = Expected;

export interface ScraperConfig {
  dirs: { a: string; b: string; live: string };
  liveIds: string[];
  scrapeIntervalMs: number;
  /** B's registry compacts after a scrape that finds at least this many dead writers (its default). */
  compactThreshold: number;
  samplePrefix: string;
  counterSample: string;
  histogramFamily: string;
}

export interface CheckpointRequest {
  type: 'checkpoint';
  workers: number;
  expected: Expected;
  expectedLive: Expected;
  /** Epoch ms after which every ended worker is past the grace compaction waits for. */
  settleUntil: number;
  settleScrapes: number;
  scrapesA: number;
  scrapesB: number;
  budgetMs: number;
  final: boolean;
}

export interface DirectoryFiles {
  /** Every directory entry: .db files, liveness markers and locks, the compaction journal. */
  entries: number;
  db: number;
  liveDb: number;
  compactedDb: number;
  /** .db files of ended workers not (yet) compacted. */
  deadDb: number;
  deadWriters: number;
  markers: number;
  locks: number;
  /** Up to 10 ended workers whose files are still there: their files, marker and lock. */
  leftovers: string[];
}

export interface ScrapeSeries {
  n: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
}

export interface CompactionStats {
  /** Compactions B's registry ran since the previous checkpoint. */
  count: number;
  /** Dead writers they removed. */
  writers: number;
  medianMs: number;
  /** CPU time of the serving process (wall time on a shared machine includes waiting for a core). */
  medianCpuMs: number;
  maxMs: number;
  totalMs: number;
  /** B's scrapes between checkpoints (the "Prometheus" scrapes that trigger compaction). */
  backgroundScrapes: ScrapeSeries;
}

export interface ExportCheck {
  ok: boolean;
  samplesA: number;
  samplesB: number;
  differences: number;
  firstDifferences: string[];
  totalsA: Expected;
  totalsB: Expected;
  totalsLive: Expected;
  expected: Expected;
  expectedLive: Expected;
  skippedFiles: { a: number; b: number; live: number };
}

export interface CheckpointRecord {
  workers: number;
  /** B when the checkpoint began, before the last ended workers were compacted. */
  filesBBeforeSettling: DirectoryFiles;
  files: { a: DirectoryFiles; b: DirectoryFiles; live: DirectoryFiles };
  /** The first scrape of the checkpoint: parses the files new since the previous one. */
  catchUpMs: { a: number; live: number };
  /** B's scrapes while it compacted the last ended workers. */
  settling: Array<{ ms: number; compactionMs?: number; deadWritersAfter: number }>;
  scrapes: { a: ScrapeSeries; b: ScrapeSeries; live: ScrapeSeries };
  ratioBToLive: number;
  ratioAToLive: number;
  rawMs: { a: number[]; b: number[]; live: number[] };
  compaction: CompactionStats;
  check: ExportCheck;
  /** Final checkpoint: one scrape of a new registry per directory. */
  cold?: { aMs: number; bMs: number; liveMs: number };
  scraperRssMb: number;
  warnings: string[];
  checkpointMs: number;
  /** Added by the parent. */
  elapsedSeconds?: number;
  loadAverage?: number;
  workerFailures?: number;
}

// ---- the benchmark ----

interface ChurnOptions {
  workers: number;
  series: number;
  live: number;
  parallel: number;
  killFraction: number;
  checkpointEvery: number;
  scrapes: number;
  finalScrapes: number;
  budgetSeconds: number;
  livenessMs: number;
  scrapeIntervalMs: number;
  skipBuild: boolean;
}

export interface ChurnResults extends RunInfo {
  benchmark: 'churn';
  options: ChurnOptions;
  shape: WorkloadShape;
  nodePreGypShortcut: boolean;
  workers: {
    launched: number;
    exitedCleanly: number;
    killed: number;
    failures: number;
    firstFailures: string[];
    /** Lines workers wrote to stderr (library warnings included). */
    stderrLines: number;
    firstStderr: string[];
    medianLifeMs: number;
    perSecond: number;
  };
  checkpoints: CheckpointRecord[];
  /** B / live-only: at the last checkpoint, the median over all, the worst; met when the worst is within the limit. */
  target: { last: number; median: number; worst: number; worstAt: number; limit: number; met: boolean } | undefined;
}

const ROOT = path.join(__dirname, '..');
/** The private build lives outside the project: its dependencies are found through NODE_PATH. */
const NODE_MODULES = path.join(ROOT, 'node_modules');
const HERE = __dirname;
const SAMPLE_PREFIX = 'churn_';
const COUNTER_NAME = 'churn_requests_total';
const HISTOGRAM_NAME = 'churn_request_duration_seconds';
const OBSERVATIONS = [0.003, 0.008, 0.02, 0.04, 0.07, 0.2, 0.4, 0.8, 1.7, 0.012, 0.06, 0.3];
const AMOUNT_CYCLE = 3;
const LIVE_TICK_MS = 250;
/** B's registry's default compactThreshold (MultiprocessRegistryOptions). */
const DEFAULT_COMPACT_THRESHOLD = 4;
const TARGET_RATIO = 1.5;
/** A short-lived worker that has not counted after this long has hung. */
const WORKER_TIMEOUT_MS = 120_000;
const SCRAPER_IDLE_TIMEOUT_MS = 300_000;

const USAGE = `Usage: node --import tsx bench/churn.ts [options]
  --workers N            short-lived workers in all (default 10000)
  --series S             series each worker writes (default 200: 160 counter children + 4 histogram children x 10 entries)
  --live L               long-lived workers running throughout (default 4)
  --parallel P           short-lived workers alive at once (default 4)
  --kill-fraction F      share of workers ended with SIGKILL instead of a clean exit (default 0.2)
  --checkpoint-every K   measure after every K workers (default 500, or a quarter of --workers if smaller)
  --scrapes N            warm scrapes per directory at a checkpoint (default 20; B and live-only take at least 10)
  --final-scrapes N      warm scrapes of B and live-only at the last checkpoint (default 200)
  --budget SECONDS       time for the warm scrapes of one directory at a checkpoint (default 5; the last one 30)
  --liveness-ms MS       the workers' livenessTimeoutMs (default 2000, the library's minimum)
  --scrape-interval MS   B is scraped this often between checkpoints, which lets its registry compact (default 1000)
  --skip-build           workers use the project's dist/ as it is, instead of a private build of the working tree`;

function positiveInteger(text: string | undefined, what: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${what} needs a positive integer, got "${text}"`);
  return value;
}

function parseOptions(argv: string[]): ChurnOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      workers: { type: 'string', default: '10000' },
      series: { type: 'string', default: '200' },
      live: { type: 'string', default: '4' },
      parallel: { type: 'string', default: '4' },
      'kill-fraction': { type: 'string', default: '0.2' },
      'checkpoint-every': { type: 'string' },
      scrapes: { type: 'string', default: '20' },
      'final-scrapes': { type: 'string', default: '200' },
      budget: { type: 'string', default: '5' },
      'liveness-ms': { type: 'string', default: '2000' },
      'scrape-interval': { type: 'string', default: '1000' },
      'skip-build': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const workers = positiveInteger(values.workers, 'workers');
  const killFraction = Number(values['kill-fraction']);
  if (!(killFraction >= 0 && killFraction <= 1)) throw new Error(`--kill-fraction needs a number from 0 to 1, got "${values['kill-fraction']}"`);
  const budgetSeconds = Number(values.budget);
  if (!(budgetSeconds > 0)) throw new Error(`--budget needs a positive number of seconds, got "${values.budget}"`);
  const series = positiveInteger(values.series, 'series');
  if (workloadShape(series).counterChildren < 1) throw new Error(`--series ${series} leaves no counter children`);
  return {
    workers,
    series,
    live: positiveInteger(values.live, 'live'),
    parallel: positiveInteger(values.parallel, 'parallel'),
    killFraction,
    checkpointEvery: values['checkpoint-every'] ? positiveInteger(values['checkpoint-every'], 'checkpoint-every') : Math.min(500, Math.ceil(workers / 4)),
    scrapes: positiveInteger(values.scrapes, 'scrapes'),
    finalScrapes: positiveInteger(values['final-scrapes'], 'final-scrapes'),
    budgetSeconds,
    livenessMs: Math.max(2000, positiveInteger(values['liveness-ms'], 'liveness-ms')),
    scrapeIntervalMs: positiveInteger(values['scrape-interval'], 'scrape-interval'),
    skipBuild: values['skip-build']!,
  };
}

const startedMs = performance.now();
function progress(message: string): void {
  console.log(`[${elapsedLabel(startedMs)}] ${message}`);
}

/**
 * Workers run the built library. It is built from the working tree into the
 * benchmark's own directory, so that workers and the scraper (src/ through
 * tsx) run the same code, and so that someone else rebuilding dist/ (npm test
 * does) cannot hand a starting worker a half-written module.
 */
function build(outDir: string): void {
  progress(`building the library into ${outDir} (tsc -p tsconfig.json --outDir ...)`);
  const args = [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', outDir, '--declaration', 'false', '--sourceMap', 'false'];
  const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`tsc -p tsconfig.json failed (exit ${result.status}, signal ${result.signal})`);
}

/** procs/churn-worker.ts as CommonJS for plain node (its imports are types only). */
function transpileWorker(into: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  const source = fs.readFileSync(path.join(HERE, 'procs', 'churn-worker.ts'), 'utf8');
  const output = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: 'churn-worker.ts',
  });
  const file = path.join(into, 'churn-worker.js');
  fs.writeFileSync(file, output.outputText);
  return file;
}

/**
 * node-pre-gyp's path and the binary it finds for @riaskov/mmap-io, so that
 * workers can skip loading node-pre-gyp (see churn-worker.ts). It parses
 * process.argv when first required, hence the stripped argv.
 */
function nodePreGypShortcut(): ChurnSpec['nodePreGyp'] {
  const argv = process.argv;
  try {
    const mmapPackage = require.resolve('@riaskov/mmap-io/package.json');
    const modulePath = require.resolve('@mapbox/node-pre-gyp', { paths: [path.dirname(mmapPackage)] });
    process.argv = argv.slice(0, 2);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bindingPath = (require(modulePath) as { find(packageJson: string): string }).find(mmapPackage);
    if (!fs.existsSync(bindingPath)) throw new Error(`${bindingPath} does not exist`);
    return { modulePath, bindingPath };
  } catch (err) {
    progress(`workers load node-pre-gyp themselves (slower): cannot resolve the mmap-io binary here: ${(err as Error).message}`);
    return undefined;
  } finally {
    process.argv = argv;
  }
}

function addExpected(into: Expected, more: Expected): void {
  into.counter += more.counter;
  into.histogramCount += more.histogramCount;
  into.histogramSum += more.histogramSum;
}

/** What short-lived worker n counts (mirrors runShort in churn-worker.ts). */
function expectedOfShortWorker(n: number, shape: WorkloadShape): Expected {
  let histogramSum = 0;
  for (let i = 0; i < shape.histogramChildren; i++) histogramSum += OBSERVATIONS[(n + i) % OBSERVATIONS.length];
  return { counter: shape.counterChildren * (1 + (n % AMOUNT_CYCLE)), histogramCount: shape.histogramChildren, histogramSum };
}

interface WorkerOutcome {
  n: number;
  killed: boolean;
  counted: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

/** Every `every`-th worker (spread evenly) is killed: worker n is when floor((n+1)f) > floor(nf). */
function isKilled(n: number, fraction: number): boolean {
  return Math.floor((n + 1) * fraction) > Math.floor(n * fraction);
}

function runShortWorker(script: string, specFile: string, n: number, kill: boolean): Promise<WorkerOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    // NODE_OPTIONS emptied: a tsx hook inherited from the parent would triple the start-up cost.
    const child = spawnTracked(process.execPath, [script, 'short', String(n), kill ? 'kill' : 'exit'], { CHURN_SPEC: specFile, NODE_OPTIONS: '', NODE_PATH: NODE_MODULES });
    let stdout = '';
    let stderr = '';
    let counted = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), WORKER_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!counted && stdout.includes('counted\n')) {
        counted = true;
        if (kill) child.kill('SIGKILL');
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (err) => {
      stderr += `spawn failed: ${err.message}\n`;
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ n, killed: kill, counted, code, signal, stderr, ms: performance.now() - started });
    });
  });
}

interface LiveWorker {
  child: ChildProcess;
  id: string;
  stderr: string;
}

const liveChildren = new Set<ChildProcess>();
function killLiveWorkers(): void {
  for (const child of liveChildren) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  liveChildren.clear();
}

async function startLiveWorker(script: string, specFile: string, k: number): Promise<LiveWorker> {
  const child = fork(script, ['live', String(k)], {
    execArgv: [],
    env: { ...process.env, CHURN_SPEC: specFile, NODE_OPTIONS: '', NODE_PATH: NODE_MODULES },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  liveChildren.add(child);
  const worker: LiveWorker = { child, id: `live${k}`, stderr: '' };
  child.stderr!.on('data', (chunk: Buffer) => (worker.stderr += chunk.toString()));
  await nextMessage(child, 'ready', 60_000, `live worker ${k}`);
  return worker;
}

async function pauseLiveWorkers(workers: LiveWorker[]): Promise<Expected> {
  const totals: Expected = { counter: 0, histogramCount: 0, histogramSum: 0 };
  await Promise.all(
    workers.map(async (worker) => {
      const reply = nextMessage<{ type: string; totals: LiveTotals }>(worker.child, 'paused', 60_000, `live worker ${worker.id}`);
      worker.child.send({ type: 'pause' });
      addExpected(totals, (await reply).totals);
    }),
  );
  return totals;
}

function resumeLiveWorkers(workers: LiveWorker[]): void {
  for (const worker of workers) worker.child.send({ type: 'resume' });
}

function describeFailure(outcome: WorkerOutcome): string {
  const how = outcome.signal ? `signal ${outcome.signal}` : `exit code ${outcome.code}`;
  const why = !outcome.counted ? 'never reported "counted"' : outcome.killed ? 'was to be SIGKILLed' : 'was to exit cleanly';
  return `worker ${outcome.n} ${why}, ended with ${how}${outcome.stderr ? `: ${outcome.stderr.trim().split('\n').slice(0, 3).join(' | ')}` : ''}`;
}

function checkpointLine(record: CheckpointRecord, options: ChurnOptions, perSecond: number): string {
  const { files, scrapes, compaction, check } = record;
  const verdict = check.ok ? 'exports equal, totals right' : `CHECK FAILED (${check.differences} differing samples; totals A ${check.totalsA.counter}, B ${check.totalsB.counter}, expected ${check.expected.counter})`;
  return (
    `${record.workers}/${options.workers} workers (${perSecond.toFixed(1)}/s): files A ${files.a.db} (+${files.a.entries - files.a.db} locks/markers), ` +
    `B ${files.b.db} (${record.filesBBeforeSettling.db} before settling) | scrape A ${formatMs(scrapes.a.medianMs)} ms, B ${formatMs(scrapes.b.medianMs)} ms, ` +
    `live-only ${formatMs(scrapes.live.medianMs)} ms, B/live-only ${formatRatio(record.ratioBToLive)} | ` +
    `${compaction.count} compactions of ${compaction.writers} writers (median ${formatMs(compaction.medianMs)} ms, cpu ${formatMs(compaction.medianCpuMs)} ms, max ${formatMs(compaction.maxMs)} ms) | ${verdict}` +
    (record.warnings.length ? ` | ${record.warnings.length} collector warnings: ${record.warnings[0]}` : '')
  );
}

export function churnTable(results: ChurnResults): string {
  const header = ['workers so far', 'files A', 'files B', 'ended left in B', 'scrape ms A', 'scrape ms B', 'live-only ms', 'B / live-only', 'A / live-only', 'exports'];
  const rows = results.checkpoints.map((c) => [
    String(c.workers),
    String(c.files.a.db),
    String(c.files.b.db),
    String(c.files.b.deadWriters),
    formatMs(c.scrapes.a.medianMs),
    formatMs(c.scrapes.b.medianMs),
    formatMs(c.scrapes.live.medianMs),
    formatRatio(c.ratioBToLive),
    formatRatio(c.ratioAToLive),
    c.check.ok ? 'equal' : 'DIFFER',
  ]);
  const last = results.checkpoints[results.checkpoints.length - 1];
  const notes = [
    '',
    `files: .db files (A also keeps one liveness marker per ended worker and the lock of each killed one: ${last ? last.files.a.entries : '-'} entries at the end; ` +
      `B ${last ? last.files.b.entries : '-'}; live-only ${last ? last.files.live.db : '-'} .db files). ended left in B: ended workers whose files B still holds ` +
      `(the registry compacts after a scrape that finds at least ${DEFAULT_COMPACT_THRESHOLD} dead writers, so up to ${DEFAULT_COMPACT_THRESHOLD - 1} can stay).`,
    'scrape ms: median of warm scrapes by the long-lived registry of each directory (B and live-only interleaved); B measured once every ended worker is past the grace compaction waits for.',
    `exports: A and B export the same samples and the counter and histogram totals every worker counted (live workers paused for the check).`,
  ];
  return `${markdownTable(header, rows, header.map(() => true))}\n${notes.join('\n')}`;
}

function targetOf(checkpoints: readonly CheckpointRecord[]): NonNullable<ChurnResults['target']> {
  const worst = checkpoints.reduce((a, b) => (b.ratioBToLive > a.ratioBToLive ? b : a));
  return {
    last: checkpoints[checkpoints.length - 1].ratioBToLive,
    median: median(checkpoints.map((c) => c.ratioBToLive)),
    worst: worst.ratioBToLive,
    worstAt: worst.workers,
    limit: TARGET_RATIO,
    met: worst.ratioBToLive <= TARGET_RATIO,
  };
}

export function targetLine(results: ChurnResults): string {
  if (!results.target) return 'Target (issue 4): not measured';
  const { last, median: mid, worst, worstAt, limit, met } = results.target;
  return (
    `Target (issue 4): with compaction the scrape stays within ${limit}x of the time for the live workers alone: ${met ? 'met' : 'NOT met'} ` +
    `(B / live-only: ${formatRatio(last)} at the end, median ${formatRatio(mid)} over the checkpoints, worst ${formatRatio(worst)} at ${worstAt} workers)`
  );
}

export async function runChurnBenchmark(argv: string[]): Promise<ChurnResults> {
  const options = parseOptions(argv);
  installCleanup();
  process.on('exit', killLiveWorkers);
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const shape = workloadShape(options.series);
  progress(`churn benchmark on ${describeMachine(machine)}; load average ${machine.loadAverage.join(' ')}`);
  progress(
    `${options.workers} short-lived workers, ${options.parallel} at a time, ${Math.round(options.killFraction * 100)} % of them SIGKILLed, ` +
      `each writing ${options.series} series (${shape.counterChildren} counter children + ${shape.histogramChildren} histogram children x 10 entries); ` +
      `${options.live} live workers throughout; livenessTimeoutMs ${options.livenessMs}; checkpoint every ${options.checkpointEvery}`,
  );
  const work = makeTempDir('churn-work');
  const distDir = options.skipBuild ? path.join(ROOT, 'dist') : path.join(work, 'dist');
  if (!options.skipBuild) build(distDir);

  const dirs = { a: makeTempDir('churn-a-without'), b: makeTempDir('churn-b-with'), live: makeTempDir('churn-live-only') };
  const nodePreGyp = nodePreGypShortcut();
  const spec: ChurnSpec = {
    distDir: distDir + path.sep,
    nodePreGyp,
    livenessTimeoutMs: options.livenessMs,
    shortDirs: [dirs.a, dirs.b],
    liveDirs: [dirs.a, dirs.b, dirs.live],
    counter: {
      name: COUNTER_NAME,
      help: 'Requests handled, by route, method and status.',
      labelNames: ['route', 'method', 'status'],
      labels: Array.from({ length: shape.counterChildren }, (_, i) => counterLabelValues(i)),
    },
    histogram: {
      name: HISTOGRAM_NAME,
      help: 'Request duration in seconds, by route.',
      labelNames: ['route'],
      buckets: HISTOGRAM_BUCKETS,
      labels: Array.from({ length: shape.histogramChildren }, (_, i) => histogramLabelValues(i)),
    },
    amountCycle: AMOUNT_CYCLE,
    observations: OBSERVATIONS,
    liveTickMs: LIVE_TICK_MS,
  };
  const specFile = path.join(work, 'spec.json');
  fs.writeFileSync(specFile, JSON.stringify(spec));
  const script = transpileWorker(work);

  const liveWorkers: LiveWorker[] = [];
  for (let k = 0; k < options.live; k++) liveWorkers.push(await startLiveWorker(script, specFile, k));
  progress(`${options.live} live workers ready; A = ${dirs.a}, B = ${dirs.b}, live-only = ${dirs.live}`);

  const scraperConfig: ScraperConfig = {
    dirs,
    liveIds: liveWorkers.map((w) => w.id),
    scrapeIntervalMs: options.scrapeIntervalMs,
    compactThreshold: DEFAULT_COMPACT_THRESHOLD,
    samplePrefix: SAMPLE_PREFIX,
    counterSample: COUNTER_NAME,
    histogramFamily: HISTOGRAM_NAME,
  };
  const scraper = forkTs(path.join(HERE, 'procs', 'churn-scraper.ts'), [JSON.stringify(scraperConfig)]);
  const scraperStarted = nextMessage(scraper, 'started', SCRAPER_IDLE_TIMEOUT_MS, 'churn scraper');
  scraper.send({ type: 'start' });
  await scraperStarted;

  // Settled: every ended worker's lock is stale for compaction (COMPACTION_GRACE timeouts past its
  // last refresh, which is at most one refresh interval before its end), and the registry's
  // once-a-second limit on compactions has passed.
  const refreshMs = Math.max(1000, Math.floor(options.livenessMs / 4));
  const settleMs = COMPACTION_GRACE * options.livenessMs + refreshMs + 1000 + 250;

  const expectedShort: Expected = { counter: 0, histogramCount: 0, histogramSum: 0 };
  const checkpoints: CheckpointRecord[] = [];
  const failures: string[] = [];
  const stderrLines: string[] = [];
  let stderrCount = 0;
  const lifeMs: number[] = [];
  let launched = 0;
  let exitedCleanly = 0;
  let killed = 0;
  let lastEndAt = Date.now();
  let churnMs = 0;

  const record = (outcome: WorkerOutcome): void => {
    lastEndAt = Date.now();
    lifeMs.push(outcome.ms);
    if (outcome.counted) addExpected(expectedShort, expectedOfShortWorker(outcome.n, shape));
    const asPlanned = outcome.counted && (outcome.killed ? outcome.signal === 'SIGKILL' : outcome.code === 0);
    if (!asPlanned) failures.push(describeFailure(outcome));
    else if (outcome.killed) killed++;
    else exitedCleanly++;
    if (outcome.stderr.trim()) {
      const lines = outcome.stderr.trim().split('\n');
      stderrCount += lines.length;
      if (stderrLines.length < 20) stderrLines.push(...lines.slice(0, 20 - stderrLines.length).map((l) => `worker ${outcome.n}: ${l}`));
    }
  };

  const ticker = setInterval(() => progress(`${launched} of ${options.workers} workers started`), 30_000);
  try {
    while (launched < options.workers) {
      const limit = Math.min(options.workers, launched + options.checkpointEvery);
      const churnStart = performance.now();
      const lane = async (): Promise<void> => {
        while (launched < limit) {
          const n = launched++;
          record(await runShortWorker(script, specFile, n, isKilled(n, options.killFraction)));
        }
      };
      await Promise.all(Array.from({ length: options.parallel }, lane));
      churnMs += performance.now() - churnStart;
      if (failures.length > Math.max(10, launched * 0.01)) throw new Error(`${failures.length} of ${launched} workers failed; first: ${failures[0]}`);

      const final = launched >= options.workers;
      const expectedLive = await pauseLiveWorkers(liveWorkers);
      const expected = { ...expectedShort };
      addExpected(expected, expectedLive);
      const request: CheckpointRequest = {
        type: 'checkpoint',
        workers: launched,
        expected,
        expectedLive,
        settleUntil: lastEndAt + settleMs,
        settleScrapes: 5,
        scrapesA: options.scrapes,
        scrapesB: final ? options.finalScrapes : Math.max(options.scrapes, 10),
        budgetMs: (final ? Math.max(30, options.budgetSeconds) : options.budgetSeconds) * 1000,
        final,
      };
      const loadAverage = Math.round(os.loadavg()[0] * 100) / 100;
      const reply = nextMessage<{ type: string; record: CheckpointRecord }>(scraper, 'checkpoint', SCRAPER_IDLE_TIMEOUT_MS, 'churn scraper');
      scraper.send(request);
      const checkpoint = (await reply).record;
      resumeLiveWorkers(liveWorkers);
      checkpoint.elapsedSeconds = Math.round((performance.now() - startedMs) / 1000);
      checkpoint.loadAverage = loadAverage;
      checkpoint.workerFailures = failures.length;
      checkpoints.push(checkpoint);
      progress(checkpointLine(checkpoint, options, launched / (churnMs / 1000)));
      if (!final) {
        const perWorker = (performance.now() - startedMs) / launched;
        progress(`about ${Math.ceil((perWorker * (options.workers - launched)) / 60000)} min to go (load average ${os.loadavg()[0].toFixed(1)})`);
      }
    }
  } finally {
    clearInterval(ticker);
    await stop(scraper);
    for (const worker of liveWorkers) {
      if (worker.stderr.trim()) stderrLines.push(...worker.stderr.trim().split('\n').slice(0, 5).map((l) => `${worker.id}: ${l}`));
      await stop(worker.child);
    }
  }

  const last = checkpoints[checkpoints.length - 1];
  const results: ChurnResults = {
    benchmark: 'churn',
    ...runInfo('bench/churn.ts', argv, startedAt, startedMs, machine),
    options,
    shape,
    nodePreGypShortcut: nodePreGyp !== undefined,
    workers: {
      launched,
      exitedCleanly,
      killed,
      failures: failures.length,
      firstFailures: failures.slice(0, 20),
      stderrLines: stderrCount,
      firstStderr: stderrLines,
      medianLifeMs: median(lifeMs),
      perSecond: launched / (churnMs / 1000),
    },
    checkpoints,
    target: last ? targetOf(checkpoints) : undefined,
  };
  const file = writeResults('churn', results);
  console.log(`\n${churnTable(results)}\n`);
  const w = results.workers;
  console.log(
    `Workers: ${w.launched} started, ${w.exitedCleanly} exited cleanly, ${w.killed} SIGKILLed, ${w.failures} failed; ` +
      `${w.perSecond.toFixed(1)} per second, median life ${formatMs(w.medianLifeMs)} ms; ${w.stderrLines} lines on their stderr.`,
  );
  for (const line of [...w.firstFailures.slice(0, 5), ...w.firstStderr.slice(0, 5)]) console.log(`  ${line}`);
  const allCompactions = checkpoints.reduce((sum, c) => sum + c.compaction.count, 0);
  const compactedWriters = checkpoints.reduce((sum, c) => sum + c.compaction.writers, 0);
  const maxCompaction = Math.max(...checkpoints.map((c) => (Number.isFinite(c.compaction.maxMs) ? c.compaction.maxMs : 0)));
  const cpuMedians = checkpoints.map((c) => c.compaction.medianCpuMs).filter(Number.isFinite);
  console.log(
    `Compaction in B: ${allCompactions} runs removed ${compactedWriters} dead writers; median CPU time per run ${formatMs(median(cpuMedians))} ms ` +
      `(median of the checkpoints' medians); the longest run took ${formatMs(maxCompaction)} ms of wall time.`,
  );
  const warnings = checkpoints.flatMap((c) => c.warnings);
  console.log(`Collector warnings: ${warnings.length}${warnings.length ? `; first: ${warnings[0]}` : ''}`);
  if (last?.cold) console.log(`A new registry's first scrape at the end: A ${formatMs(last.cold.aMs)} ms, B ${formatMs(last.cold.bMs)} ms, live-only ${formatMs(last.cold.liveMs)} ms.`);
  const badChecks = checkpoints.filter((c) => !c.check.ok);
  console.log(badChecks.length ? `Export checks FAILED at ${badChecks.map((c) => c.workers).join(', ')} workers: ${badChecks[0].check.firstDifferences.join('; ')}` : 'Export checks: all passed.');
  console.log(targetLine(results));
  progress(`results: ${path.relative(process.cwd(), file)} and churn-latest.json`);
  return results;
}

if (require.main === module) runAsCommand(runChurnBenchmark);
