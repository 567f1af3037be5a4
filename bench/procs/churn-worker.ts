// A writer of the churn benchmark. It runs under plain `node` from a CommonJS
// copy that bench/churn.ts transpiles at start (under tsx every one of
// thousands of short-lived workers would pay ~0.3 s of CPU to start), and it
// loads the built library from dist/, only the modules a writer needs.
//
//   node churn-worker.js short <n> exit|kill   count once into every directory, print "counted", exit (or wait to be SIGKILLed)
//   node churn-worker.js live <k>              (forked, with IPC) count every tick until told to pause; report totals
//
// One process writes into several directories (the churn benchmark's A and B,
// and for live workers the live-only baseline C) through one instance of the
// library per directory: the module cache is cleared between the loads, so
// each instance has its own configure(), its own files and its own liveness
// lock, and to each directory the process is an ordinary writer. Both
// directories therefore see exactly the same workers live, count and die.
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import type { ChurnSpec, LiveTotals } from '../churn.js';

type CounterModule = typeof import('../../src/metrics/counter.js');
type HistogramModule = typeof import('../../src/metrics/histogram.js');
type StorageModule = typeof import('../../src/storage/config.js');

const spec = JSON.parse(fs.readFileSync(process.env.CHURN_SPEC!, 'utf8')) as ChurnSpec;

/**
 * @riaskov/mmap-io finds its binary through node-pre-gyp, which loads about
 * a hundred modules (~100 ms of CPU per worker). The parent has resolved the
 * binary's path once; a stand-in answering with it takes node-pre-gyp's
 * place in the module cache. The mapping code itself is the library's.
 */
function shortcutNodePreGyp(): void {
  if (!spec.nodePreGyp) return;
  const { modulePath, bindingPath } = spec.nodePreGyp;
  const stand = new Module(modulePath);
  stand.filename = modulePath;
  stand.loaded = true;
  stand.exports = { find: () => bindingPath };
  require.cache[modulePath] = stand;
}

interface Writer {
  counters: Array<{ inc(amount?: number): void }>;
  histograms: Array<{ observe(value: number): void }>;
}

/** A fresh instance of the library's writing side, configured for `dir`. */
function writerFor(dir: string, processId: string): Writer {
  for (const key of Object.keys(require.cache)) if (key.startsWith(spec.distDir)) delete require.cache[key];
  const { Counter } = require(path.join(spec.distDir, 'metrics', 'counter.js')) as CounterModule;
  const { Histogram } = require(path.join(spec.distDir, 'metrics', 'histogram.js')) as HistogramModule;
  const { configure } = require(path.join(spec.distDir, 'storage', 'config.js')) as StorageModule;
  configure({ dir, processId, livenessTimeoutMs: spec.livenessTimeoutMs });
  const counter = new Counter({ name: spec.counter.name, help: spec.counter.help, labelNames: spec.counter.labelNames });
  const histogram = new Histogram({ name: spec.histogram.name, help: spec.histogram.help, labelNames: spec.histogram.labelNames, buckets: spec.histogram.buckets });
  return {
    counters: spec.counter.labels.map((values) => counter.labels(...values)),
    histograms: spec.histogram.labels.map((values) => histogram.labels(...values)),
  };
}

function runShort(n: number, ending: string): void {
  // The same amounts the parent adds to its expected totals (see expectedOfShortWorker in churn.ts).
  const amount = 1 + (n % spec.amountCycle);
  for (const dir of spec.shortDirs) {
    const writer = writerFor(dir, `w${n}`);
    for (const child of writer.counters) child.inc(amount);
    writer.histograms.forEach((child, i) => child.observe(spec.observations[(n + i) % spec.observations.length]));
  }
  // Pipes are written synchronously on Linux: the line is out before the process ends.
  process.stdout.write('counted\n');
  // A worker to be killed waits for its SIGKILL; the others end when nothing is left to do
  // (the liveness locks' refresh timers do not keep a process alive).
  if (ending === 'kill') setInterval(() => {}, 1 << 30);
}

function runLive(k: number): void {
  const writers = spec.liveDirs.map((dir) => writerFor(dir, `live${k}`));
  const totals: LiveTotals = { counter: 0, histogramCount: 0, histogramSum: 0 };
  let tick = 0;
  const count = (): void => {
    // Every directory gets the same updates in the same tick.
    for (const writer of writers) {
      for (const child of writer.counters) child.inc();
      writer.histograms.forEach((child, i) => child.observe(spec.observations[(tick + i) % spec.observations.length]));
    }
    totals.counter += spec.counter.labels.length;
    spec.histogram.labels.forEach((_, i) => {
      totals.histogramCount += 1;
      totals.histogramSum += spec.observations[(tick + i) % spec.observations.length];
    });
    tick++;
  };
  count();
  let timer: NodeJS.Timeout | undefined = setInterval(count, spec.liveTickMs);
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'pause') {
      clearInterval(timer);
      timer = undefined;
      process.send!({ type: 'paused', totals });
    } else if (message?.type === 'resume' && !timer) {
      timer = setInterval(count, spec.liveTickMs);
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ type: 'ready', pid: process.pid });
}

shortcutNodePreGyp();
const [mode, index, ending] = process.argv.slice(2);
if (mode === 'short') runShort(Number(index), ending);
else if (mode === 'live') runLive(Number(index));
else {
  process.stderr.write(`churn-worker: unknown mode ${mode}\n`);
  process.exit(2);
}
