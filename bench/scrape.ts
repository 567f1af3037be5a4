// Scrape benchmark: W writer processes x S series each, scraped by this
// library's MultiprocessRegistry, by prom-client's AggregatorRegistry over W
// node:cluster workers, by prom-client's registry in one process holding the
// same S series, and by Python's MultiProcessCollector when BENCH_PYTHON names
// a usable Python. See bench/README.md.
//
//   node --import tsx bench/scrape.ts [--workers 1,8,16,64] [--series 1000,10000]
//     [--scrapes 200] [--cold-runs 3] [--budget 15] [--min-warm 5] [--update-rate 2000|max]
//     [--systems ours,promclient-cluster,promclient-single,python]
import { spawnSync, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { rssOfPids, type ScrapeOptions, type ScrapeStats } from './lib/measure.js';
import {
  forkTs,
  installCleanup,
  makeTempDir,
  nextMessage,
  releaseReportedPids,
  removeTempDir,
  spawnTracked,
  stop,
  trackReportedPids,
  runAsCommand,
} from './lib/processes.js';
import { copyAsPython016 } from './lib/python016.js';
import { describeMachine, elapsedLabel, machineInfo, runInfo, writeResults, type RunInfo } from './lib/results.js';
import { formatBytes, formatMb, formatMs, formatRatio, markdownTable, median } from './lib/stats.js';
import { STARTUP_CONCURRENCY, startInWaves, workloadShape, type WorkloadShape, type WriterSpec } from './lib/workload.js';

export const SYSTEMS = ['ours', 'promclient-cluster', 'promclient-single', 'python'] as const;
export type System = (typeof SYSTEMS)[number];

export interface RunRecord {
  system: System;
  /** Writer processes; null for promclient-single (one process, measured once per S). */
  workers: number | null;
  series: number;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  stats?: ScrapeStats;
  /** ours: the cold scrape of each fresh collector process; stats.coldMs is their median. */
  coldRunsMs?: number[];
  /** Time until every writer had created its series. */
  startupMs?: number;
  /** Resident memory of all writer processes together, once they were ready. */
  writerRssMb?: number;
  sampleCheck?: { expected: number; got: number; ok: boolean };
  warnings?: string[];
  /** prom-client cluster: scrapes (cold included) slower than clusterMetrics()'s fixed 5 s limit, which fail in a real deployment. */
  overPromClientLimit?: number;
  /** 1-minute load average when the run started: the machine is shared, so this tells how noisy it was. */
  loadAverage?: number;
}

export interface ScrapeResults extends RunInfo {
  benchmark: 'scrape';
  options: { workers: number[]; series: number[]; scrapes: number; coldRuns: number; budgetSeconds: number; minWarm: number; updateRate: number; systems: System[] };
  shapes: WorkloadShape[];
  /** version: prometheus_client's (absent in results written before it was recorded); legacyLayout: 0.16-0.17, timed on a copy of the directory in its layout. */
  python: { status: 'ok' | 'skipped'; detail: string; version?: string; legacyLayout?: boolean };
  runs: RunRecord[];
}

const SAMPLE_PREFIX = 'bench_http_';
const HERE = __dirname;
/** A writer that is not ready after this long has failed (a loaded machine needs minutes for 64). */
const READY_TIMEOUT_MS = 600_000;
/**
 * A collector process that sends nothing for this long has hung: they send a
 * heartbeat after every scrape and every started cluster worker, and a
 * prom-client scrape is cut at 120 s (see promclient-primary.ts).
 */
const IDLE_TIMEOUT_MS = 300_000;

const USAGE = `Usage: node --import tsx bench/scrape.ts [options]
  --workers LIST       writer processes, comma-separated (default 1,8,16,64)
  --series LIST        series per writer, comma-separated (default 1000,10000)
  --scrapes N          warm scrapes after the cold one (default 200)
  --cold-runs N        fresh collector processes of this library timed cold; the median is reported (default 3)
  --budget SECONDS     stop warm scrapes of one system and size after this long, keeping at least --min-warm (default 15)
  --min-warm N         fewest warm scrapes (default 5)
  --update-rate N|max  updates per second in every writer; max = flat out, each writer at 100 % CPU (default 2000)
  --systems LIST       any of ${SYSTEMS.join(',')} (default all)
Python runs only when BENCH_PYTHON names a python that imports prometheus_client (installed, or
upstream's source tree on PYTHONPATH): 0.18 or later reads the writers' directory; 0.16-0.17 a copy
converted to its layout.`;

function parseList(text: string, what: string): number[] {
  const values = text.split(',').map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`--${what} needs positive integers, got "${text}"`);
  return values;
}

function parseOptions(argv: string[]): ScrapeResults['options'] {
  const { values } = parseArgs({
    args: argv,
    options: {
      workers: { type: 'string', default: '1,8,16,64' },
      series: { type: 'string', default: '1000,10000' },
      scrapes: { type: 'string', default: '200' },
      'cold-runs': { type: 'string', default: '3' },
      budget: { type: 'string', default: '15' },
      'min-warm': { type: 'string', default: '5' },
      'update-rate': { type: 'string', default: '2000' },
      systems: { type: 'string', default: SYSTEMS.join(',') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const systems = values.systems!.split(',').map((s) => s.trim());
  for (const s of systems) if (!(SYSTEMS as readonly string[]).includes(s)) throw new Error(`unknown system "${s}"; one of ${SYSTEMS.join(', ')}`);
  const rate = values['update-rate'] === 'max' ? 0 : Number(values['update-rate']);
  if (!(rate >= 0)) throw new Error(`--update-rate needs a number or max, got "${values['update-rate']}"`);
  return {
    workers: parseList(values.workers!, 'workers'),
    series: parseList(values.series!, 'series'),
    scrapes: parseList(values.scrapes!, 'scrapes')[0],
    coldRuns: parseList(values['cold-runs']!, 'cold-runs')[0],
    budgetSeconds: Number(values.budget),
    minWarm: parseList(values['min-warm']!, 'min-warm')[0],
    updateRate: rate,
    systems: systems as System[],
  };
}

const startedMs = performance.now();
function progress(message: string): void {
  console.log(`[${elapsedLabel(startedMs)}] ${message}`);
}

/** Whether BENCH_PYTHON can run Python's multiprocess collector, and why not. */
function checkPython(): ScrapeResults['python'] {
  const python = process.env.BENCH_PYTHON;
  if (!python) {
    return {
      status: 'skipped',
      detail:
        'BENCH_PYTHON is not set. It must name a python that imports prometheus_client, installed or a source tree on PYTHONPATH ' +
        '(0.18 or later reads the directory itself; 0.16-0.17 reads a copy converted to its older layout).',
    };
  }
  const probe = spawnSync(python, [path.join(HERE, 'python', 'prometheus_client_version.py')], { encoding: 'utf8' });
  if (probe.error) return { status: 'skipped', detail: `BENCH_PYTHON=${python} cannot be run: ${probe.error.message}` };
  if (probe.status !== 0) return { status: 'skipped', detail: `BENCH_PYTHON=${python}: no usable prometheus_client: ${probe.stderr.trim().split('\n').pop()}` };
  const found = JSON.parse(probe.stdout) as { version: string; source: string; file: string };
  const origin = found.source === 'package metadata' ? path.dirname(found.file) : `source tree ${path.dirname(found.source)}`;
  const described = `${python}, prometheus_client ${found.version} (${origin})`;
  const [major, minor] = found.version.split('.').map((p) => parseInt(p, 10));
  if (major > 0 || minor >= 18) return { status: 'ok', detail: described, version: found.version };
  if (minor >= 16) {
    return {
      status: 'ok',
      version: found.version,
      legacyLayout: true,
      detail: `${described}: reads a copy of the directory converted to its layout (8-byte slots), taken once the writers are ready`,
    };
  }
  return { status: 'skipped', detail: `${described}: 0.16 or later is needed (older releases use another key format)`, version: found.version };
}

function scrapeOptions(options: ScrapeResults['options']): ScrapeOptions & { samplePrefix: string } {
  return { scrapes: options.scrapes, budgetMs: options.budgetSeconds * 1000, minWarm: options.minWarm, samplePrefix: SAMPLE_PREFIX };
}

function checkSamples(stats: ScrapeStats, shape: WorkloadShape): RunRecord['sampleCheck'] {
  return { expected: shape.expectedSamples, got: stats.samples, ok: stats.samples === shape.expectedSamples };
}

function summary(stats: ScrapeStats): string {
  const errors = stats.errors.length ? `, ${stats.errors.length} failed scrapes (${stats.errors[0]})` : '';
  return (
    `cold ${formatMs(stats.coldMs)} ms, ${stats.warmMs.length} warm: p50 ${formatMs(stats.warmP50Ms)} ms ` +
    `(cpu ${formatMs(stats.warmCpuP50Ms)} ms), p99 ${formatMs(stats.warmP99Ms)} ms, ${formatBytes(stats.bytes)}, ` +
    `rss ${formatMb(stats.rssDeltaMb)}, heap ${formatMb(stats.heapDeltaMb)}${errors}`
  );
}

interface Writers {
  dir: string;
  children: ChildProcess[];
  startupMs: number;
  rssMb?: number;
}

async function startOurWriters(workers: number, spec: WriterSpec): Promise<Writers> {
  const dir = makeTempDir(`w${workers}-s${spec.series}`);
  const started = performance.now();
  const script = path.join(HERE, 'procs', 'ours-worker.ts');
  const children: ChildProcess[] = [];
  let readyCount = 0;
  try {
    await startInWaves(workers, STARTUP_CONCURRENCY, (i) => {
      const child = forkTs(script, [JSON.stringify(spec)], { env: { PROMETHEUS_MULTIPROC_DIR: dir } });
      children.push(child);
      return nextMessage(child, 'ready', READY_TIMEOUT_MS, `writer ${i}`).then(() => {
        const ready = ++readyCount;
        if (ready % 16 === 0 && ready < workers) progress(`W=${workers} S=${spec.series}: ${ready} of ${workers} writers ready`);
      });
    });
  } catch (err) {
    await Promise.all(children.map(stop));
    removeTempDir(dir);
    throw err;
  }
  return { dir, children, startupMs: performance.now() - started, rssMb: rssOfPids(children.map((c) => c.pid!)) };
}

async function stopWriters(writers: Writers): Promise<void> {
  await Promise.all(writers.children.map(stop));
  removeTempDir(writers.dir);
}

/** One fresh collector process of this library on the writers' directory. */
async function ourScraper(dir: string, scrape: ScrapeOptions & { samplePrefix: string }, timeoutMs: number): Promise<{ stats: ScrapeStats; warnings: string[] }> {
  const child = forkTs(path.join(HERE, 'procs', 'ours-scraper.ts'), [dir, JSON.stringify(scrape)], { exposeGc: true });
  try {
    return await nextMessage<{ type: string; stats: ScrapeStats; warnings: string[] }>(child, 'result', timeoutMs, 'our collector');
  } finally {
    await stop(child);
  }
}

/**
 * A fresh collector process scrapes cold once, then warm; further fresh
 * processes only scrape cold, and the cold time reported is their median.
 */
async function runOurs(writers: Writers, options: ScrapeResults['options'], shape: WorkloadShape): Promise<Omit<RunRecord, 'system' | 'workers' | 'series'>> {
  const result = await ourScraper(writers.dir, scrapeOptions(options), IDLE_TIMEOUT_MS);
  const coldRunsMs = [result.stats.coldMs];
  for (let i = 1; i < options.coldRuns; i++) {
    const cold = await ourScraper(writers.dir, { ...scrapeOptions(options), scrapes: 0, minWarm: 0 }, IDLE_TIMEOUT_MS);
    coldRunsMs.push(cold.stats.coldMs);
  }
  return {
    status: 'ok',
    stats: { ...result.stats, coldMs: median(coldRunsMs) },
    coldRunsMs,
    startupMs: writers.startupMs,
    writerRssMb: writers.rssMb,
    sampleCheck: checkSamples(result.stats, shape),
    warnings: result.warnings,
  };
}

async function runPython(
  python: string,
  legacyLayout: boolean,
  writers: Writers,
  options: ScrapeResults['options'],
  shape: WorkloadShape,
): Promise<Omit<RunRecord, 'system' | 'workers' | 'series'>> {
  if (!legacyLayout) return timePython(python, writers.dir, writers, options, shape);
  const copy = makeTempDir('python016');
  try {
    copyAsPython016(writers.dir, copy);
    return await timePython(python, copy, writers, options, shape);
  } finally {
    removeTempDir(copy);
  }
}

function timePython(python: string, dir: string, writers: Writers, options: ScrapeResults['options'], shape: WorkloadShape): Promise<Omit<RunRecord, 'system' | 'workers' | 'series'>> {
  const script = path.join(HERE, 'python', 'scrape_multiprocess.py');
  const args = [script, dir, String(options.scrapes), String(options.budgetSeconds), String(options.minWarm), SAMPLE_PREFIX];
  const child = spawnTracked(python, args, { PROMETHEUS_MULTIPROC_DIR: dir });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const limitMs = options.budgetSeconds * 1000 + IDLE_TIMEOUT_MS;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`python collector: no result after ${limitMs / 1000} s`));
    }, limitMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`python collector exited with code ${code}, signal ${signal}: ${stderr.trim().split('\n').slice(-3).join(' ')}`));
      try {
        const stats = JSON.parse(stdout) as ScrapeStats;
        resolve({ status: 'ok', stats, startupMs: writers.startupMs, writerRssMb: writers.rssMb, sampleCheck: checkSamples(stats, shape) });
      } catch (err) {
        reject(new Error(`python collector printed no JSON: ${(err as Error).message}: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

async function runCluster(workers: number, spec: WriterSpec, options: ScrapeResults['options'], shape: WorkloadShape): Promise<Omit<RunRecord, 'system' | 'workers' | 'series'>> {
  const primary = forkTs(path.join(HERE, 'procs', 'promclient-primary.ts'), [JSON.stringify(spec), String(workers), JSON.stringify(scrapeOptions(options))], {
    exposeGc: true,
  });
  const pids: number[] = [];
  primary.on('message', (message: { type?: string; pids?: number[]; message?: string }) => {
    if (message?.type === 'progress') progress(`W=${workers} S=${spec.series} promclient-cluster: ${message.message}`);
    if (message?.type === 'workers' && message.pids) {
      pids.push(...message.pids);
      trackReportedPids(message.pids);
    }
  });
  try {
    const result = await nextMessage<{ type: string; stats: ScrapeStats; workerRssMb?: number; startupMs: number; overLimit: number }>(
      primary,
      'result',
      IDLE_TIMEOUT_MS,
      'prom-client cluster primary',
    );
    return {
      status: 'ok',
      stats: result.stats,
      startupMs: result.startupMs,
      writerRssMb: result.workerRssMb,
      sampleCheck: checkSamples(result.stats, shape),
      overPromClientLimit: result.overLimit,
    };
  } finally {
    await stop(primary);
    releaseReportedPids(pids);
  }
}

async function runSingle(spec: WriterSpec, options: ScrapeResults['options'], shape: WorkloadShape): Promise<Omit<RunRecord, 'system' | 'workers' | 'series'>> {
  const child = forkTs(path.join(HERE, 'procs', 'promclient-single.ts'), [JSON.stringify(spec), JSON.stringify(scrapeOptions(options))], { exposeGc: true });
  try {
    const result = await nextMessage<{ type: string; stats: ScrapeStats }>(child, 'result', IDLE_TIMEOUT_MS, 'prom-client single process');
    return { status: 'ok', stats: result.stats, sampleCheck: checkSamples(result.stats, shape) };
  } finally {
    await stop(child);
  }
}

async function attempt(
  runs: RunRecord[],
  base: Pick<RunRecord, 'system' | 'workers' | 'series'>,
  label: string,
  run: () => Promise<Omit<RunRecord, 'system' | 'workers' | 'series'>>,
): Promise<void> {
  const loadAverage = Math.round(os.loadavg()[0] * 100) / 100;
  progress(`${label}: running (load average ${loadAverage})`);
  try {
    const record: RunRecord = { ...base, ...(await run()), loadAverage };
    runs.push(record);
    const limit = record.overPromClientLimit ? `; ${record.overPromClientLimit} scrapes over prom-client's 5 s limit (lifted to measure them)` : '';
    const check = record.sampleCheck && !record.sampleCheck.ok ? ` WARNING: ${record.sampleCheck.got} workload samples, expected ${record.sampleCheck.expected}` : '';
    progress(`${label}: ${summary(record.stats!)}${limit}${check}`);
  } catch (err) {
    runs.push({ ...base, status: 'failed', reason: (err as Error).message, loadAverage });
    progress(`${label}: FAILED: ${(err as Error).message}`);
  }
}

export async function runScrapeBenchmark(argv: string[]): Promise<ScrapeResults> {
  const options = parseOptions(argv);
  installCleanup();
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const has = (system: System): boolean => options.systems.includes(system);
  progress(`scrape benchmark on ${describeMachine(machine)}`);
  progress(
    `workers ${options.workers.join(',')} x series ${options.series.join(',')}; up to ${options.scrapes} warm scrapes or ${options.budgetSeconds} s per system and size; ` +
      `writers update ${options.updateRate === 0 ? 'flat out' : `${options.updateRate}/s each`}`,
  );
  const python: ScrapeResults['python'] = has('python') ? checkPython() : { status: 'skipped', detail: 'not selected (--systems)' };
  if (has('python')) progress(`python: ${python.status === 'ok' ? python.detail : `skipped: ${python.detail}`}`);

  const runs: RunRecord[] = [];
  const shapes = options.series.map(workloadShape);
  for (const shape of shapes) {
    const spec: WriterSpec = { series: shape.series, updateRate: options.updateRate };
    progress(`S=${shape.series}: each writer holds ${shape.counterChildren} counter children + ${shape.histogramChildren} histogram children x 10 entries`);
    if (has('promclient-single')) {
      await attempt(runs, { system: 'promclient-single', workers: null, series: shape.series }, `S=${shape.series} promclient-single`, () => runSingle(spec, options, shape));
    }
    for (const workers of options.workers) {
      const label = `W=${workers} S=${shape.series}`;
      if (has('ours') || has('python')) {
        let writers: Writers | undefined;
        try {
          progress(`${label}: starting ${workers} writers of this library`);
          writers = await startOurWriters(workers, spec);
          progress(`${label}: writers ready in ${(writers.startupMs / 1000).toFixed(1)} s, ${formatMb(writers.rssMb).replace('+', '')} RSS together`);
        } catch (err) {
          progress(`${label}: writers FAILED: ${(err as Error).message}`);
          for (const system of ['ours', 'python'] as const) {
            if (has(system)) runs.push({ system, workers, series: shape.series, status: 'failed', reason: `writers: ${(err as Error).message}` });
          }
        }
        if (writers) {
          try {
            if (has('ours')) await attempt(runs, { system: 'ours', workers, series: shape.series }, `${label} ours`, () => runOurs(writers!, options, shape));
            if (has('python')) {
              if (python.status === 'ok') {
                await attempt(runs, { system: 'python', workers, series: shape.series }, `${label} python`, () =>
                  runPython(process.env.BENCH_PYTHON!, python.legacyLayout === true, writers!, options, shape),
                );
              } else {
                runs.push({ system: 'python', workers, series: shape.series, status: 'skipped', reason: python.detail });
              }
            }
          } finally {
            await stopWriters(writers);
          }
        }
      }
      if (has('promclient-cluster')) {
        await attempt(runs, { system: 'promclient-cluster', workers, series: shape.series }, `${label} promclient-cluster (${workers} cluster workers)`, () =>
          runCluster(workers, spec, options, shape),
        );
      }
    }
  }

  const results: ScrapeResults = {
    benchmark: 'scrape',
    ...runInfo('bench/scrape.ts', argv, startedAt, startedMs, machine),
    options,
    shapes,
    python,
    runs,
  };
  const file = writeResults('scrape', results);
  console.log(`\n${scrapeTable(results)}\n`);
  console.log(targetLines(results).join('\n'));
  progress(`results: ${path.relative(process.cwd(), file)} and scrape-latest.json`);
  return results;
}

function findRun(results: ScrapeResults, system: System, workers: number, series: number): RunRecord | undefined {
  return results.runs.find((r) => r.system === system && r.series === series && (system === 'promclient-single' ? true : r.workers === workers));
}

/** One row per (W, S, system); promclient-single is measured once per S and repeated under every W. */
export function scrapeTable(results: ScrapeResults): string {
  const header = ['W', 'S', 'system', 'n', 'cold ms', 'warm p50 ms', 'warm p99 ms', 'cpu p50 ms', 'bytes', 'mem (RSS)', 'heap', 'p50 / ours', 'cold / ours'];
  const rows: string[][] = [];
  const notes: string[] = [];
  const timeouts: string[] = [];
  const order: System[] = ['ours', 'promclient-cluster', 'python', 'promclient-single'];
  for (const series of results.options.series) {
    for (const workers of results.options.workers) {
      const ours = findRun(results, 'ours', workers, series);
      for (const system of order) {
        if (!results.options.systems.includes(system)) continue;
        const run = findRun(results, system, workers, series);
        if (!run) continue;
        let name = system === 'promclient-single' ? 'promclient-single*' : system;
        if (run.overPromClientLimit) {
          name += ' **';
          timeouts.push(`${run.overPromClientLimit} of ${(run.stats?.warmMs.length ?? 0) + 1} at W=${workers} S=${series}`);
        }
        if (run.status !== 'ok' || !run.stats) {
          rows.push([String(workers), String(series), name, '-', run.status, '-', '-', '-', '-', '-', '-', '-', '-']);
          if (run.status === 'failed') notes.push(`W=${workers} S=${series} ${system} failed: ${run.reason}`);
          continue;
        }
        const s = run.stats;
        const base = ours?.status === 'ok' && system !== 'ours' ? ours.stats : undefined;
        rows.push([
          String(workers),
          String(series),
          name,
          String(s.warmMs.length),
          formatMs(s.coldMs),
          formatMs(s.warmP50Ms),
          formatMs(s.warmP99Ms),
          formatMs(s.warmCpuP50Ms),
          formatBytes(s.bytes),
          formatMb(s.rssDeltaMb),
          system === 'python' ? '-' : formatMb(s.heapDeltaMb),
          base ? formatRatio(s.warmP50Ms / base.warmP50Ms) : '',
          base ? formatRatio(s.coldMs / base.coldMs) : '',
        ]);
      }
    }
  }
  const right = header.map((_, i) => i !== 2);
  notes.unshift(
    '',
    'n: warm scrapes timed; cpu: CPU time of the collecting process per scrape (prom-client cluster: the primary only);',
    'mem/heap: growth of the collecting process over all scrapes, after a forced GC; x / ours: that system divided by ours (> 1: ours is faster).',
    '* promclient-single: one process holding the same S series, measured once per S and shown under every W.',
  );
  if (timeouts.length) {
    notes.push(
      `** scrapes slower than clusterMetrics()'s fixed 5 s limit (${timeouts.join(', ')}): they fail with "Operation timed out." in a real deployment; ` +
        'the benchmark lifts the limit to time them.',
    );
  }
  if (results.python.status !== 'ok') notes.push(`python: skipped: ${results.python.detail}`);
  else notes.push(`python: ${results.python.detail}`);
  return `${markdownTable(header, rows, right)}\n${notes.join('\n')}`;
}

/** The issue's targets at the largest W, measured in this run. */
export function targetLines(results: ScrapeResults): string[] {
  const lines = ['Targets (issue 3) at the largest W:'];
  const workers = Math.max(...results.options.workers);
  const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  for (const series of results.options.series) {
    const ours = findRun(results, 'ours', workers, series);
    if (ours?.status !== 'ok' || !ours.stats) {
      lines.push(`  W=${workers} S=${series}: ours not measured`);
      continue;
    }
    const cluster = findRun(results, 'promclient-cluster', workers, series);
    if (cluster?.status === 'ok' && cluster.stats) {
      const ratio = cluster.stats.warmP50Ms / ours.stats.warmP50Ms;
      lines.push(`  W=${workers} S=${series}: warm p50 vs prom-client cluster ${formatRatio(ratio)} (target >= 40x): ${verdict(ratio >= 40)}`);
    }
    const python = findRun(results, 'python', workers, series);
    if (python?.status === 'ok' && python.stats) {
      const warm = python.stats.warmP50Ms / ours.stats.warmP50Ms;
      const cold = ours.stats.coldMs / python.stats.coldMs;
      if (results.python.legacyLayout) lines.push(`  (python: ${results.python.detail})`);
      lines.push(`  W=${workers} S=${series}: warm p50 vs python ${formatRatio(warm)} (target >= 100x): ${verdict(warm >= 100)}`);
      lines.push(`  W=${workers} S=${series}: cold = ${(cold * 100).toFixed(1)} % of python's cold (target <= 10 %): ${verdict(cold <= 0.1)}`);
    } else {
      lines.push(`  W=${workers} S=${series}: python ${python?.status ?? 'not selected'}: the targets against Python's collector are not checked`);
    }
    if (series >= 10000) {
      const mem = ours.stats.rssDeltaMb;
      lines.push(`  W=${workers} S=${series}: collector RSS growth ${formatMb(mem)} (target <= 40 MB): ${verdict(mem <= 40)}`);
    }
  }
  return lines;
}

if (require.main === module) runAsCommand(runScrapeBenchmark);
