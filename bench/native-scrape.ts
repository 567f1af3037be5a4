// Native histogram scrape benchmark: W writer processes x S histogram series
// each (the same series in every writer), once with native buckets beside the
// classic ones (nativeHistogramBucketFactor 1.1) and once classic alone,
// scraped by this library's MultiprocessRegistry: the native directory as
// protobuf (what a Prometheus with native histograms asks for) and as text
// (classic buckets only), the classic directory as text. Beside them,
// prom-client, which has no native histograms and no files: its cluster
// aggregation of the same W x S classic series (AggregatorRegistry.aggregate()
// over W workers' getMetricsAsJSON(), timed without the IPC that cluster mode
// adds on top). Writers exit once their series are written, so every scrape
// reads the same bytes. See bench/README.md.
//
//   node --import tsx bench/native-scrape.ts [--workers 64] [--series 1000] [--scrapes 20] [--cold-runs 3]
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as prom from 'prom-client';
import { MultiprocessRegistry, Registry } from '../src/index.js';
import { forkTs, installCleanup, makeTempDir, nextMessage, removeTempDir, runAsCommand } from './lib/processes.js';
import { describeMachine, elapsedLabel, machineInfo, runInfo, writeResults, type RunInfo } from './lib/results.js';
import { formatBytes, formatMs, formatRatio, markdownTable, median } from './lib/stats.js';
import { HISTOGRAM, histogramLabelValues } from './lib/workload.js';

type Kind = 'native' | 'classic';

interface CaseResult {
  id: string;
  description: string;
  /** Median of the cold scrapes, each by a fresh process. */
  coldMs: number;
  coldRunsMs: number[];
  /** Median of the warm scrapes of one registry. */
  warmMs: number;
  bytes: number;
}

export interface NativeScrapeResults extends RunInfo {
  benchmark: 'native-scrape';
  options: { workers: number; series: number; scrapes: number; coldRuns: number };
  /** Time to write each directory (all writers). */
  writeSeconds: Record<Kind, number>;
  cases: CaseResult[];
}

/** Writes W writers' files of `kind` into `dir`, two writers at a time. */
async function writeDirectory(dir: string, kind: Kind, workers: number, series: number): Promise<number> {
  const started = performance.now();
  const writeOne = async (): Promise<void> => {
    const child = forkTs(path.join(__dirname, 'procs', 'native-writer.ts'), [kind, String(series)], { env: { PROMETHEUS_MULTIPROC_DIR: dir } });
    await nextMessage(child, 'ready', 300_000, 'writer');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.disconnect();
    await exited;
  };
  for (let started = 0; started < workers; started += 2) await Promise.all(Array.from({ length: Math.min(2, workers - started) }, writeOne));
  return (performance.now() - started) / 1000;
}

/** A scrape of `dir` in a fresh process: the first scrape's time (what a restarted exporter pays). */
function coldScrape(dir: string, protobuf: boolean): number {
  const script = `
    const { MultiprocessRegistry, Registry } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
    const registry = new MultiprocessRegistry({ dir: ${JSON.stringify(dir)}, compactThreshold: 0 });
    ${protobuf ? 'registry.setContentType(Registry.PROMETHEUS_PROTOBUF_CONTENT_TYPE);' : ''}
    const t = performance.now();
    registry.metrics().then(() => process.stdout.write(String(performance.now() - t)));`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`cold scrape failed: ${run.stderr}`);
  return Number(run.stdout);
}

async function warmScrapes(scrape: () => Promise<{ length: number }>, count: number): Promise<{ ms: number; bytes: number }> {
  let bytes = (await scrape()).length;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    bytes = (await scrape()).length;
    times.push(performance.now() - t);
  }
  return { ms: median(times), bytes };
}

/** prom-client's cluster aggregation of W workers' JSON, as its primary merges what workers send (IPC not included). */
async function promClientCluster(workers: number, series: number, scrapes: number): Promise<{ ms: number; bytes: number }> {
  const perWorker: prom.MetricObjectWithValues<prom.MetricValue<string>>[][] = [];
  for (let w = 0; w < workers; w++) {
    const registry = new prom.Registry();
    const histogram = new prom.Histogram({ name: HISTOGRAM.name, help: HISTOGRAM.help, labelNames: [...HISTOGRAM.labelNames], buckets: HISTOGRAM.buckets, registers: [registry] });
    for (let i = 0; i < series; i++) {
      const child = histogram.labels(...histogramLabelValues(i));
      for (let k = 0; k < 24; k++) child.observe(1e-4 * 10 ** ((k * 6) / 24) * (1 + ((i + k) % 7) / 10));
    }
    perWorker.push((await registry.getMetricsAsJSON()) as never);
  }
  return warmScrapes(() => prom.AggregatorRegistry.aggregate(perWorker as never).metrics(), scrapes);
}

export async function nativeScrapeBenchmark(argv: string[]): Promise<NativeScrapeResults> {
  const { values } = parseArgs({
    args: argv,
    options: { workers: { type: 'string', default: '64' }, series: { type: 'string', default: '1000' }, scrapes: { type: 'string', default: '20' }, 'cold-runs': { type: 'string', default: '3' } },
  });
  const workers = Number(values.workers);
  const series = Number(values.series);
  const scrapes = Number(values.scrapes);
  const coldRuns = Number(values['cold-runs']);
  if (![workers, series, scrapes, coldRuns].every((n) => Number.isInteger(n) && n > 0)) throw new Error('--workers, --series, --scrapes and --cold-runs take positive integers');
  installCleanup();
  const startedAt = new Date().toISOString();
  const startedMs = performance.now();
  const machine = machineInfo();
  console.log(`native histogram scrape: ${workers} writers x ${series} histogram series, on ${describeMachine(machine)}`);
  const build = spawnSync('npm', ['run', 'build'], { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr}`);

  const dirs: Record<Kind, string> = { native: makeTempDir('native-scrape-native'), classic: makeTempDir('native-scrape-classic') };
  try {
    const writeSeconds = { native: await writeDirectory(dirs.native, 'native', workers, series), classic: await writeDirectory(dirs.classic, 'classic', workers, series) };
    console.log(`directories written: native in ${writeSeconds.native.toFixed(1)} s, classic in ${writeSeconds.classic.toFixed(1)} s (${elapsedLabel(startedMs)})`);
    const registryOf = (dir: string, protobuf: boolean): MultiprocessRegistry => {
      const registry = new MultiprocessRegistry({ dir, compactThreshold: 0, logger: { warn: (m) => console.warn(m) } });
      if (protobuf) registry.setContentType(Registry.PROMETHEUS_PROTOBUF_CONTENT_TYPE as never);
      return registry;
    };
    const cases: CaseResult[] = [];
    const measure = async (id: string, description: string, dir: string, protobuf: boolean): Promise<void> => {
      const coldRunsMs = Array.from({ length: coldRuns }, () => coldScrape(dir, protobuf));
      const registry = registryOf(dir, protobuf);
      const warm = await warmScrapes(() => registry.metrics() as Promise<{ length: number }>, scrapes);
      cases.push({ id, description, coldMs: median(coldRunsMs), coldRunsMs, warmMs: warm.ms, bytes: warm.bytes });
      console.log(`  ${id}: cold ${formatMs(median(coldRunsMs))}, warm ${formatMs(warm.ms)} (${elapsedLabel(startedMs)})`);
    };
    // Text first: the protobuf case leaves the most garbage behind.
    await measure('ours-classic-text', 'ours, classic buckets only, text', dirs.classic, false);
    await measure('ours-native-text', 'ours, the native directory as text (classic buckets only; the .nhdb files are not read)', dirs.native, false);
    await measure('ours-native-protobuf', 'ours, native + classic buckets, protobuf (native histograms merged at the lowest schema)', dirs.native, true);
    const cluster = await promClientCluster(workers, series, scrapes);
    cases.push({ id: 'promclient-cluster-merge', description: "prom-client's AggregatorRegistry.aggregate() of the workers' JSON, classic only (no IPC counted)", coldMs: NaN, coldRunsMs: [], warmMs: cluster.ms, bytes: cluster.bytes });

    const base = cases.find((c) => c.id === 'ours-classic-text')!;
    const rows = cases.map((c) => [c.id, formatMs(c.coldMs), formatMs(c.warmMs), formatRatio(c.warmMs / base.warmMs), formatBytes(c.bytes)]);
    console.log('\n' + markdownTable(['case', 'cold', 'warm p50', 'warm / ours classic text', 'bytes'], rows, [false, true, true, true, true]));
    for (const c of cases) console.log(`- ${c.id}: ${c.description}`);
    const results: NativeScrapeResults = {
      benchmark: 'native-scrape',
      ...runInfo('bench/native-scrape.ts', argv, startedAt, startedMs, machine),
      options: { workers, series, scrapes, coldRuns },
      writeSeconds,
      cases,
    };
    console.log(`\nresults: ${writeResults('native-scrape', results)}`);
    return results;
  } finally {
    for (const dir of Object.values(dirs)) removeTempDir(dir);
  }
}

if (require.main === module) runAsCommand(nativeScrapeBenchmark);
