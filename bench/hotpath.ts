import { runAsCommand } from './lib/processes.js';
// Hot-path benchmark: this library (writing into memory-mapped files of a
// temporary PROMETHEUS_MULTIPROC_DIR) and prom-client side by side in one
// process, ns per operation. See bench/README.md.
//
//   node --import tsx bench/hotpath.ts [--rounds 9] [--round-ms 100] [--ops child-inc,...]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as prom from 'prom-client';
import * as ours from '../src/index.js';
import { describeMachine, elapsedLabel, machineInfo, runInfo, writeResults, type RunInfo } from './lib/results.js';
import { markdownTable, median } from './lib/stats.js';

/** A loop of n operations; each op has its own loop function so that every call site stays monomorphic. */
type Loop = (n: number) => void;

interface Operation {
  id: string;
  description: string;
  ours: Loop;
  promClient: Loop;
  /** The target for this operation, checked against the medians (`oursOf`: ours for another operation measured before). */
  target?: { text: string; met: (oursNs: number, promNs: number, oursOf: (id: string) => number) => boolean };
}

export interface OperationResult {
  id: string;
  description: string;
  iterations: { ours: number; promClient: number };
  oursNs: number[];
  promClientNs: number[];
  oursMedianNs: number;
  promClientMedianNs: number;
  /** prom-client / ours: above 1, ours is faster. */
  ratio: number;
  target?: string;
  targetMet?: boolean;
}

export interface HotpathResults extends RunInfo {
  benchmark: 'hotpath';
  options: { rounds: number; roundMs: number };
  /** ns of one iteration of an empty loop of the same shape: included in every figure. */
  emptyLoopNs: number;
  multiprocessDir: string;
  operations: OperationResult[];
}

/** Observed values spread over prom-client's default buckets and past the last bound. */
const VALUES = new Float64Array([0.003, 0.007, 0.02, 0.04, 0.08, 0.2, 0.4, 0.9, 2, 4, 8, 15, 0.012, 0.06, 0.3, 0.7]);

function buildOperations(): Operation[] {
  const labelNames = ['method', 'code'];
  const oursCounter = new ours.Counter({ name: 'hot_requests_total', help: 'Requests.', labelNames });
  const oursPlain = new ours.Counter({ name: 'hot_plain_total', help: 'Unlabelled.' });
  const oursHistogram = new ours.Histogram({ name: 'hot_latency_seconds', help: 'Latency.', labelNames });
  // Native buckets at factor 1.1 (schema 3), beside the default classic buckets; and without classic buckets.
  const oursNative = new ours.Histogram({ name: 'hot_native_seconds', help: 'Latency.', labelNames, nativeHistogramBucketFactor: 1.1 });
  const oursNativeOnly = new ours.Histogram({ name: 'hot_native_only_seconds', help: 'Latency.', labelNames, nativeHistogramBucketFactor: 1.1, buckets: [] });
  // Summaries: _count and _sum alone (percentiles: []), with quantile buckets (prom-client's default percentiles), and in a window.
  const oursSummary = new ours.Summary({ name: 'hot_summary_seconds', help: 'Latency.', labelNames, percentiles: [] });
  const oursQuantiles = new ours.Summary({ name: 'hot_quantiles_seconds', help: 'Latency.', labelNames });
  const oursWindowed = new ours.Summary({ name: 'hot_windowed_seconds', help: 'Latency.', labelNames, maxAgeSeconds: 600, ageBuckets: 5 });
  const oursTimed = new ours.Histogram({ name: 'hot_timed_seconds', help: 'Timed.' });
  const oursGauge = new ours.Gauge({ name: 'hot_gauge', help: 'Gauge.' });
  const oursRecent = new ours.Gauge({ name: 'hot_recent', help: 'Most recent.', multiprocessMode: 'mostrecent' });
  const oursOpenMetrics = new ours.Registry(ours.Registry.OPENMETRICS_CONTENT_TYPE);
  const oursExemplars = new ours.Counter({ name: 'hot_traced_total', help: 'Traced.', labelNames, enableExemplars: true, registers: [oursOpenMetrics] });

  const registry = new prom.Registry();
  const registers = [registry];
  const promCounter = new prom.Counter({ name: 'hot_requests_total', help: 'Requests.', labelNames, registers });
  const promPlain = new prom.Counter({ name: 'hot_plain_total', help: 'Unlabelled.', registers });
  const promHistogram = new prom.Histogram({ name: 'hot_latency_seconds', help: 'Latency.', labelNames, registers });
  const promQuantiles = new prom.Summary({ name: 'hot_quantiles_seconds', help: 'Latency.', labelNames, registers });
  const promWindowed = new prom.Summary({ name: 'hot_windowed_seconds', help: 'Latency.', labelNames, registers, maxAgeSeconds: 600, ageBuckets: 5 });
  const promTimed = new prom.Histogram({ name: 'hot_timed_seconds', help: 'Timed.', registers });
  const promGauge = new prom.Gauge({ name: 'hot_gauge', help: 'Gauge.', registers });
  const promRecent = new prom.Gauge({ name: 'hot_recent', help: 'Most recent.', registers });
  const promOpenMetrics = new prom.Registry<prom.OpenMetricsContentType>();
  promOpenMetrics.setContentType(prom.Registry.OPENMETRICS_CONTENT_TYPE);
  const promExemplars = new prom.Counter({ name: 'hot_traced_total', help: 'Traced.', labelNames, enableExemplars: true, registers: [promOpenMetrics] });
  const TRACED = { labels: { method: 'GET', code: '200' }, value: 1, exemplarLabels: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' } };

  const oursChild = oursCounter.labels('GET', '200');
  const promChild = promCounter.labels('GET', '200');
  const oursHistogramChild = oursHistogram.labels('GET', '200');
  const oursNativeChild = oursNative.labels('GET', '200');
  const oursNativeOnlyChild = oursNativeOnly.labels('GET', '200');
  const promHistogramChild = promHistogram.labels('GET', '200');
  const oursSummaryChild = oursSummary.labels('GET', '200');
  const oursQuantilesChild = oursQuantiles.labels('GET', '200');
  const oursWindowedChild = oursWindowed.labels('GET', '200');
  const promQuantilesChild = promQuantiles.labels('GET', '200');
  const promWindowedChild = promWindowed.labels('GET', '200');

  return [
    {
      id: 'child-inc',
      description: "labelled child inc: c = counter.labels('GET','200') once; c.inc()",
      ours: (n) => {
        for (let i = 0; i < n; i++) oursChild.inc();
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promChild.inc();
      },
      target: { text: '<= 15 ns and >= 10x faster', met: (o, p) => o <= 15 && p / o >= 10 },
    },
    {
      id: 'inc-labels',
      description: "counter.inc({ method: 'GET', code: '200' })",
      ours: (n) => {
        for (let i = 0; i < n; i++) oursCounter.inc({ method: 'GET', code: '200' });
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promCounter.inc({ method: 'GET', code: '200' });
      },
      target: { text: "<= half prom-client's", met: (o, p) => o <= p / 2 },
    },
    {
      id: 'inc-exemplar',
      description: 'counter.inc({ labels, value, exemplarLabels: { trace_id, span_id } }) with enableExemplars (ours: written into the .exdb file; prom-client: kept in memory)',
      ours: (n) => {
        for (let i = 0; i < n; i++) oursExemplars.inc(TRACED as never);
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promExemplars.inc(TRACED as never);
      },
    },
    {
      id: 'inc-unlabelled',
      description: 'unlabelled counter.inc()',
      ours: (n) => {
        for (let i = 0; i < n; i++) oursPlain.inc();
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promPlain.inc();
      },
    },
    {
      id: 'child-observe',
      description: "labelled histogram child observe: h = histogram.labels('GET','200') once; h.observe(v)",
      ours: (n) => {
        for (let i = 0; i < n; i++) oursHistogramChild.observe(VALUES[i & 15]);
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promHistogramChild.observe(VALUES[i & 15]);
      },
      target: { text: '<= 40 ns', met: (o) => o <= 40 },
    },
    {
      id: 'child-observe-native',
      description:
        "the same with native buckets (nativeHistogramBucketFactor 1.1) beside the default classic ones; prom-client: its classic observe (it has no native buckets)",
      ours: (n) => {
        for (let i = 0; i < n; i++) oursNativeChild.observe(VALUES[i & 15]);
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promHistogramChild.observe(VALUES[i & 15]);
      },
      target: { text: "<= 2x ours child-observe", met: (o, _p, oursOf) => o <= 2 * oursOf('child-observe') },
    },
    {
      id: 'child-observe-native-only',
      description: 'native buckets only (buckets: [], so classic _count and _sum alone); prom-client: its classic observe',
      ours: (n) => {
        for (let i = 0; i < n; i++) oursNativeOnlyChild.observe(VALUES[i & 15]);
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promHistogramChild.observe(VALUES[i & 15]);
      },
      target: { text: "<= 2x ours child-observe", met: (o, _p, oursOf) => o <= 2 * oursOf('child-observe') },
    },
    {
      id: 'summary-child-observe',
      description: "labelled summary child observe, percentiles: [] (classic _count and _sum alone); prom-client: its summary observe (a t-digest, default percentiles)",
      ours: (n) => {
        for (let i = 0; i < n; i++) oursSummaryChild.observe(VALUES[i & 15]);
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promQuantilesChild.observe(VALUES[i & 15]);
      },
    },
    {
      id: 'summary-child-observe-quantiles',
      description: 'summary with quantiles (multiprocess): default percentiles, schema-5 buckets in summary_<id>.nhdb; prom-client: its summary observe (a t-digest of this process only)',
      ours: (n) => {
        for (let i = 0; i < n; i++) oursQuantilesChild.observe(VALUES[i & 15]);
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promQuantilesChild.observe(VALUES[i & 15]);
      },
    },
    {
      id: 'summary-child-observe-window',
      description: 'the same with maxAgeSeconds 600, ageBuckets 5 (a ring of 5); prom-client: the same window (5 t-digests)',
      ours: (n) => {
        for (let i = 0; i < n; i++) oursWindowedChild.observe(VALUES[i & 15]);
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promWindowedChild.observe(VALUES[i & 15]);
      },
    },
    {
      id: 'observe-labels',
      description: "histogram.observe({ method: 'GET', code: '200' }, v)",
      ours: (n) => {
        for (let i = 0; i < n; i++) oursHistogram.observe({ method: 'GET', code: '200' }, VALUES[i & 15]);
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promHistogram.observe({ method: 'GET', code: '200' }, VALUES[i & 15]);
      },
    },
    {
      id: 'gauge-set',
      description: 'unlabelled gauge.set(v)',
      ours: (n) => {
        for (let i = 0; i < n; i++) oursGauge.set(i);
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promGauge.set(i);
      },
    },
    {
      id: 'mostrecent-set',
      description: "unlabelled gauge.set(v), multiprocessMode 'mostrecent' (value and timestamp; prom-client: a plain set)",
      ours: (n) => {
        for (let i = 0; i < n; i++) oursRecent.set(i);
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promRecent.set(i);
      },
    },
    {
      id: 'start-timer',
      description: 'unlabelled histogram: end = histogram.startTimer(); end()',
      ours: (n) => {
        for (let i = 0; i < n; i++) oursTimed.startTimer()();
      },
      promClient: (n) => {
        for (let i = 0; i < n; i++) promTimed.startTimer()();
      },
    },
  ];
}

function timeNs(loop: Loop, n: number): number {
  const start = process.hrtime.bigint();
  loop(n);
  return Number(process.hrtime.bigint() - start);
}

/** Iterations that take about `roundMs`, after warming the loop up so that it is optimised. */
function calibrate(loop: Loop, roundMs: number): number {
  let n = 1000;
  for (;;) {
    const ns = timeNs(loop, n);
    if (ns >= 20e6 || n >= 1e9) return Math.max(1000, Math.round((n * roundMs * 1e6) / ns));
    n *= 4;
  }
}

const USAGE = `Usage: node --import tsx bench/hotpath.ts [options]
  --rounds N      timed rounds per operation and library; the median is reported (default 9)
  --round-ms MS   length of one round (default 100)
  --ops LIST      operations to run, comma-separated (default all)`;

export async function runHotpathBenchmark(argv: string[]): Promise<HotpathResults> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '9' },
      'round-ms': { type: 'string', default: '100' },
      ops: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const rounds = Number(values.rounds);
  const roundMs = Number(values['round-ms']);
  if (!(rounds >= 1) || !(roundMs > 0)) throw new Error('--rounds and --round-ms need positive numbers');
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const progress = (message: string): void => console.log(`[${elapsedLabel(started)}] ${message}`);

  // Values go to memory-mapped files, as in production; the directory is read when the first metric is made.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-multiproc-hotpath-'));
  const previousDir = process.env.PROMETHEUS_MULTIPROC_DIR;
  process.env.PROMETHEUS_MULTIPROC_DIR = dir;
  try {
    const machine = machineInfo();
    progress(`hot-path benchmark on ${describeMachine(machine)}; ${rounds} rounds of ~${roundMs} ms per operation and library`);
    let operations = buildOperations();
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.db'));
    if (files.length === 0) throw new Error(`the library wrote no file into ${dir}: the benchmark would not measure mapped files`);
    progress(`this library writes into ${dir}: ${files.join(', ')}`);
    if (values.ops) {
      const wanted = values.ops.split(',');
      for (const id of wanted) if (!operations.some((op) => op.id === id)) throw new Error(`unknown op "${id}"; one of ${operations.map((o) => o.id).join(', ')}`);
      operations = operations.filter((op) => wanted.includes(op.id));
    }

    const emptyLoop: Loop = (n) => {
      for (let i = 0; i < n; i++);
    };
    const emptyN = calibrate(emptyLoop, roundMs);
    const emptyLoopNs = median(Array.from({ length: rounds }, () => timeNs(emptyLoop, emptyN) / emptyN));

    const results: OperationResult[] = [];
    for (const op of operations) {
      const oursN = calibrate(op.ours, roundMs);
      const promN = calibrate(op.promClient, roundMs);
      const oursNs: number[] = [];
      const promClientNs: number[] = [];
      for (let round = 0; round < rounds; round++) {
        // Between rounds the event loop runs, so that the library's liveness lock is refreshed as in a real process.
        await new Promise((resolve) => setImmediate(resolve));
        // Alternating which library goes first spreads the machine's noise over both.
        if (round % 2 === 0) {
          oursNs.push(timeNs(op.ours, oursN) / oursN);
          promClientNs.push(timeNs(op.promClient, promN) / promN);
        } else {
          promClientNs.push(timeNs(op.promClient, promN) / promN);
          oursNs.push(timeNs(op.ours, oursN) / oursN);
        }
      }
      const oursMedianNs = median(oursNs);
      const promClientMedianNs = median(promClientNs);
      const result: OperationResult = {
        id: op.id,
        description: op.description,
        iterations: { ours: oursN, promClient: promN },
        oursNs,
        promClientNs,
        oursMedianNs,
        promClientMedianNs,
        ratio: promClientMedianNs / oursMedianNs,
      };
      if (op.target) {
        result.target = op.target.text;
        result.targetMet = op.target.met(oursMedianNs, promClientMedianNs, (id) => results.find((r) => r.id === id)?.oursMedianNs ?? NaN);
      }
      results.push(result);
      progress(`${op.id}: ours ${formatNs(oursMedianNs)} ns, prom-client ${formatNs(promClientMedianNs)} ns (x${result.ratio.toFixed(1)})`);
    }

    const output: HotpathResults = {
      benchmark: 'hotpath',
      ...runInfo('bench/hotpath.ts', argv, startedAt, started, machine),
      options: { rounds, roundMs },
      emptyLoopNs,
      multiprocessDir: dir,
      operations: results,
    };
    const file = writeResults('hotpath', output);
    console.log(`\n${hotpathTable(output)}\n`);
    progress(`results: ${path.relative(process.cwd(), file)} and hotpath-latest.json`);
    return output;
  } finally {
    if (previousDir === undefined) delete process.env.PROMETHEUS_MULTIPROC_DIR;
    else process.env.PROMETHEUS_MULTIPROC_DIR = previousDir;
    // The library holds a liveness lock in the directory until the process ends; removing the directory
    // earlier would make its lock refresh fail (and warn), so it goes when the process exits.
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
}

function formatNs(ns: number): string {
  return ns >= 100 ? ns.toFixed(0) : ns.toFixed(1);
}

export function hotpathTable(results: HotpathResults): string {
  const header = ['operation', 'ours ns/op', 'prom-client ns/op', 'prom-client / ours', 'target (issue 3)', ''];
  const rows = results.operations.map((op) => [
    op.id,
    formatNs(op.oursMedianNs),
    formatNs(op.promClientMedianNs),
    `${op.ratio.toFixed(1)}x`,
    op.target ?? '',
    op.targetMet === undefined ? '' : op.targetMet ? 'met' : 'NOT met',
  ]);
  const notes = [
    '',
    `Medians of ${results.options.rounds} rounds of ~${results.options.roundMs} ms each; an empty loop costs ${results.emptyLoopNs.toFixed(2)} ns/iteration (included).`,
    ...results.operations.map((op) => `${op.id}: ${op.description}`),
  ];
  return `${markdownTable(header, rows, [false, true, true, true, false, false])}\n${notes.join('\n')}`;
}

if (require.main === module) runAsCommand(runHotpathBenchmark);
