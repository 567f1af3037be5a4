/**
 * Runs fuzz mutants (fuzz.ts) in a worker thread watched from the calling
 * thread: a scrape that never ends blocks its own thread, timers included,
 * so only another thread can stop it and name the mutant's seed. Used by
 * test/fuzz.test.ts and bench/fuzz.ts.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { FuzzFailure, FuzzHarness, mutantSeed } from './fuzz.js';

export interface FuzzOptions {
  /** The run's seed; mutant i has mutantSeed(seed, i). */
  seed: number;
  /** Stop after this many mutants... */
  mutants?: number;
  /** ...or after this many seconds. */
  seconds?: number;
  /** Run only the mutant of this seed (a failure's), once. */
  only?: number;
  /** After every this many mutants, the next one whose file is merged goes through promtool too, in its scrape's format (Infinity: never). */
  promtoolEvery: number;
  /** Where the scrape directory, promtool's files and failing mutants go. */
  workDir: string;
  /** A mutant that takes longer than this counts as a hang. */
  stallSeconds: number;
}

export interface FuzzCounts {
  mutants: number;
  /** Mutant files the fresh scrape skipped (FileFormatError) and merged. */
  skippedFiles: number;
  mergedFiles: number;
  /** Expositions that passed the strict parser (two scrapes per mutant). */
  expositionsChecked: number;
  promtoolText: number;
  promtoolOpenMetrics: number;
  failures: number;
}

export interface FuzzReport {
  counts: FuzzCounts;
  /** One message per failing mutant: its seed, mutations and what broke. */
  failures: string[];
  /** Set when a mutant hung (or the thread died): which one. */
  hang?: string;
  seconds: number;
}

type Message =
  | { type: 'mutant'; index: number; seed: number }
  | { type: 'counts'; counts: FuzzCounts }
  | { type: 'failure'; message: string }
  | { type: 'done'; counts: FuzzCounts };

function zeroCounts(): FuzzCounts {
  return { mutants: 0, skippedFiles: 0, mergedFiles: 0, expositionsChecked: 0, promtoolText: 0, promtoolOpenMetrics: 0, failures: 0 };
}

/** Runs the mutants in a worker thread; `onCounts` hears the counts every 100 mutants. */
export function runFuzz(options: FuzzOptions, onCounts?: (counts: FuzzCounts) => void): Promise<FuzzReport> {
  const started = performance.now();
  // Worker threads do not inherit the tsx loader of `--import tsx`: the thread registers tsx's require hook itself.
  const bootstrap = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(__filename)});`;
  const worker = new Worker(bootstrap, { eval: true, workerData: { fuzz: options } });
  const failures: string[] = [];
  let counts = zeroCounts();
  let current: { index: number; seed: number } | undefined;
  let heardAt = performance.now();
  let hang: string | undefined;
  let done = false;
  return new Promise((resolve, reject) => {
    const watchdog = setInterval(() => {
      if (performance.now() - heardAt < options.stallSeconds * 1000) return;
      hang = current
        ? `mutant ${current.index} (seed ${current.seed}) took more than ${options.stallSeconds} s`
        : `the fuzz thread did not start within ${options.stallSeconds} s`;
      clearInterval(watchdog);
      void worker.terminate();
    }, 250);
    worker.on('message', (message: Message) => {
      heardAt = performance.now();
      if (message.type === 'mutant') current = { index: message.index, seed: message.seed };
      else if (message.type === 'failure') failures.push(message.message);
      else {
        counts = message.counts;
        done = message.type === 'done';
        onCounts?.(counts);
      }
    });
    worker.on('error', (err) => {
      clearInterval(watchdog);
      reject(err);
    });
    worker.on('exit', () => {
      clearInterval(watchdog);
      if (!done && !hang) hang = `the fuzz thread ended early, at ${current ? `mutant ${current.index} (seed ${current.seed})` : 'its start'}`;
      resolve({ counts, failures, hang, seconds: (performance.now() - started) / 1000 });
    });
  });
}

async function fuzzThread(options: FuzzOptions): Promise<void> {
  const post = (message: Message): void => parentPort!.postMessage(message);
  const harness = await FuzzHarness.create(options.workDir);
  const counts = zeroCounts();
  const started = performance.now();
  let promtoolDueSince: number | undefined;
  for (let index = 0; ; index++) {
    if (options.only !== undefined ? index > 0 : options.mutants !== undefined && index >= options.mutants) break;
    if (options.seconds !== undefined && (performance.now() - started) / 1000 >= options.seconds) break;
    const seed = options.only ?? mutantSeed(options.seed, index);
    if (Number.isFinite(options.promtoolEvery) && index % options.promtoolEvery === 0) promtoolDueSince ??= index;
    // A mutant whose file is merged makes the more telling exposition; after 20 skipped ones, any will do.
    const promtool = promtoolDueSince === undefined ? 'never' : index - promtoolDueSince >= 20 || options.only !== undefined ? 'always' : 'if-accepted';
    post({ type: 'mutant', index, seed });
    counts.mutants++;
    try {
      const result = await harness.run(seed, index, promtool);
      if (result.skipped) counts.skippedFiles++;
      else counts.mergedFiles++;
      counts.expositionsChecked += result.checked;
      if (result.promtool === 'prometheus') counts.promtoolText++;
      if (result.promtool === 'openmetrics') counts.promtoolOpenMetrics++;
      if (result.promtool) promtoolDueSince = undefined;
    } catch (err) {
      counts.failures++;
      post({ type: 'failure', message: err instanceof FuzzFailure ? err.message : `mutant ${index} (seed ${seed}): ${(err as Error).stack ?? String(err)}` });
    }
    if (counts.mutants % 100 === 0) post({ type: 'counts', counts: { ...counts } });
  }
  harness.close();
  post({ type: 'done', counts });
}

if (!isMainThread && (workerData as { fuzz?: FuzzOptions } | null)?.fuzz) {
  fuzzThread((workerData as { fuzz: FuzzOptions }).fuzz).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
