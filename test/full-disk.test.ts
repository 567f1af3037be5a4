/**
 * A full disk must never kill a writer. A store through a shared mapping
 * into a page the file system could not allocate is SIGBUS (exit 135) on a
 * full tmpfs, so the library allocates every page with write() before
 * mapping it and sees ENOSPC instead. These tests fill a real, small tmpfs
 * under a real writer process and check what the library promises: it logs
 * once with the path, keeps counting new series in memory, keeps the series
 * already in the file working, and moves the pending series into the file
 * with their values once space is free again (retried every second).
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MultiprocessRegistry } from '../src/index.js';
import { HISTOGRAM_EVERY, observationFor } from './helpers/full-disk-series.js';
import type { OwnValues, WorkerCommand, WorkerReply } from './helpers/full-disk-worker.js';
import { NEW_FILE_SIZE, fillDisk, mountTmpfs, unmountTmpfs } from './helpers/tmpfs.js';

const WORKER = path.join(__dirname, 'helpers', 'full-disk-worker.ts');
const REPO_ROOT = path.join(__dirname, '..');
/** Room for both files at their grown sizes (256 KiB each at most), with the filler taking the rest. */
const TMPFS_SIZE = '1m';
/** The library retries every second; five retries' worth is plenty on a loaded machine. */
const RECOVERY_TIMEOUT_MS = 5000;

interface Worker {
  child: ChildProcess;
  request(command: WorkerCommand): Promise<WorkerReply>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** Kills the worker if it still runs; for finally blocks. */
  stop(): Promise<void>;
}

function startWorker(dir: string, logger: 'ipc' | 'console'): Worker {
  const child = fork(WORKER, [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir, FULL_DISK_LOGGER: logger },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  child.stdout!.resume();
  // 'close' comes after stderr has ended, so stderr() is complete once this resolves.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const request = (command: WorkerCommand): Promise<WorkerReply> =>
    new Promise((resolve, reject) => {
      const onMessage = (reply: WorkerReply): void => {
        child.off('exit', onExit);
        resolve(reply);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        child.off('message', onMessage);
        reject(new Error(`the worker died during ${command.op} (exit code ${code}, signal ${signal}); its stderr:\n${stderr}`));
      };
      child.once('message', onMessage);
      child.once('exit', onExit);
      child.send(command);
    });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return { child, request, exited, stderr: () => stderr, stop };
}

interface Scrape {
  jobs: Map<string, number>;
  latency: Map<string, { count: number; sum: number }>;
}

async function scrape(registry: MultiprocessRegistry): Promise<Scrape> {
  const result: Scrape = { jobs: new Map(), latency: new Map() };
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const sample of metric.values) {
      if (metric.name === 'jobs_total') result.jobs.set(String(sample.labels.kind), sample.value);
      if (sample.metricName === 'latency_count' || sample.metricName === 'latency_sum') {
        const route = String(sample.labels.route);
        const entry = result.latency.get(route) ?? { count: 0, sum: 0 };
        if (sample.metricName === 'latency_count') entry.count = sample.value;
        else entry.sum = sample.value;
        result.latency.set(route, entry);
      }
    }
  }
  return result;
}

/** Series 0..count-1 after `rounds` rounds of increments (made = 1 round, each bump one more). */
function expectedNewSeries(count: number, rounds: number): Scrape {
  const expected: Scrape = { jobs: new Map(), latency: new Map() };
  for (let i = 0; i < count; i++) {
    expected.jobs.set(`new-${i}`, i + 1 + (rounds - 1));
    if (i % HISTOGRAM_EVERY === 0) expected.latency.set(`/new-${i}`, { count: rounds, sum: rounds * observationFor(i) });
  }
  return expected;
}

/** Every expected series with a wrong or missing value, and every unexpected `new-` series (first few only). */
function mismatches(actual: Scrape, expected: Scrape): string[] {
  const problems: string[] = [];
  for (const [kind, value] of expected.jobs) {
    if (actual.jobs.get(kind) !== value) problems.push(`jobs_total{kind="${kind}"} is ${actual.jobs.get(kind)}, expected ${value}`);
  }
  for (const [route, value] of expected.latency) {
    const got = actual.latency.get(route);
    if (got?.count !== value.count || got.sum !== value.sum) {
      problems.push(`latency{route="${route}"} is ${JSON.stringify(got)}, expected ${JSON.stringify(value)}`);
    }
  }
  for (const kind of actual.jobs.keys()) if (kind.startsWith('new-') && !expected.jobs.has(kind)) problems.push(`unexpected jobs_total{kind="${kind}"}`);
  for (const route of actual.latency.keys()) if (route.startsWith('/new-') && !expected.latency.has(route)) problems.push(`unexpected latency{route="${route}"}`);
  return problems.slice(0, 10);
}

function ownAsScrape(own: OwnValues): Scrape {
  return { jobs: new Map(Object.entries(own.jobs)), latency: new Map(Object.entries(own.latency)) };
}

async function waitForScrape(registry: MultiprocessRegistry, expected: Scrape, what: string): Promise<Scrape> {
  const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
  let last = await scrape(registry);
  while (mismatches(last, expected).length > 0 && Date.now() < deadline) {
    await sleep(50);
    last = await scrape(registry);
  }
  assert.deepEqual(mismatches(last, expected), [], `${what} within ${RECOVERY_TIMEOUT_MS} ms`);
  return last;
}

async function expectCleanExit(worker: Worker): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), RECOVERY_TIMEOUT_MS)));
  const finished = await Promise.race([worker.exited, timedOut]);
  clearTimeout(timer);
  assert.ok(finished, 'the worker did not exit once its IPC channel closed: something keeps its event loop alive');
  assert.deepEqual(finished, { code: 0, signal: null }, `the worker must survive the full disk; its stderr:\n${worker.stderr()}`);
}

/** A fresh small tmpfs and a collector on it whose warnings the test reads; undefined where mounting is refused. */
function mountWithCollector(t: TestContext): { dir: string; registry: MultiprocessRegistry; registryWarnings: string[] } | undefined {
  const dir = mountTmpfs(t, TMPFS_SIZE);
  if (!dir) return undefined;
  const registryWarnings: string[] = [];
  return { dir, registryWarnings, registry: new MultiprocessRegistry({ dir, logger: { warn: (message) => registryWarnings.push(message) } }) };
}

function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'));
}

test('a file that cannot grow on a full disk: logged once, new series wait in memory, nothing is lost', async (t) => {
  const mounted = mountWithCollector(t);
  if (!mounted) return;
  const { dir, registry, registryWarnings } = mounted;
  let worker: Worker | undefined;
  try {
    worker = startWorker(dir, 'ipc');
    await worker.request({ op: 'createExisting' });
    const counterFile = path.join(dir, `counter_${worker.child.pid}.db`);
    const histogramFile = path.join(dir, `histogram_${worker.child.pid}.db`);
    assert.equal(fs.statSync(counterFile).size, NEW_FILE_SIZE);
    assert.equal(fs.statSync(histogramFile).size, NEW_FILE_SIZE);

    const filler = fillDisk(dir);
    // 3000 counter series need a 256 KiB counter file, 300 histogram series a larger histogram file.
    await worker.request({ op: 'addSeries', from: 0, to: 2000 });
    // Past one retry period: the timer has retried (and failed) meanwhile, and the next new series retries again.
    await sleep(1100);
    await worker.request({ op: 'addSeries', from: 2000, to: 3000 });
    await worker.request({ op: 'bumpExisting' });
    const whileFull = await worker.request({ op: 'ownValues' });

    assert.equal(worker.child.exitCode, null, 'the worker must still run on a full disk');
    assert.equal(fs.statSync(counterFile).size, NEW_FILE_SIZE, 'the counter file grew although the disk is full: the test did not exercise a failed growth');
    assert.equal(fs.statSync(histogramFile).size, NEW_FILE_SIZE, 'the histogram file grew although the disk is full');
    assert.deepEqual(leftovers(dir), []);

    // Logged once per file, with its path, however many series and retries followed.
    assert.equal(whileFull.warnings.length, 2, `expected one warning per file, got:\n${whileFull.warnings.join('\n')}`);
    for (const file of [counterFile, histogramFile]) {
      const naming = whileFull.warnings.filter((w) => w.includes(file));
      assert.equal(naming.length, 1, `expected exactly one warning naming ${file}, got:\n${whileFull.warnings.join('\n')}`);
      assert.match(naming[0], /ENOSPC/);
    }

    // The process itself still counts every series, the ones waiting in memory included.
    const own = ownAsScrape(whileFull.own!);
    assert.deepEqual(mismatches(own, expectedNewSeries(3000, 1)), [], 'the worker\'s own get() while the disk is full');
    assert.equal(own.jobs.get('old'), 12);
    assert.deepEqual(own.latency.get('/old'), { count: 2, sum: 0.55 });

    // The series already in the files kept updating there; what is in the file is right, the rest waits.
    const full = await scrape(registry);
    assert.equal(full.jobs.get('old'), 12);
    assert.deepEqual(full.latency.get('/old'), { count: 2, sum: 0.55 });
    const visibleNew = [...full.jobs.keys()].filter((kind) => kind.startsWith('new-')).length;
    assert.ok(visibleNew < 3000, `all ${visibleNew} new series are in the file although it could not grow`);
    const expectedVisible = expectedNewSeries(3000, 1);
    for (const kind of expectedVisible.jobs.keys()) if (!full.jobs.has(kind)) expectedVisible.jobs.delete(kind);
    for (const route of expectedVisible.latency.keys()) if (!full.latency.has(route)) expectedVisible.latency.delete(route);
    assert.deepEqual(mismatches(full, expectedVisible), [], 'the new series that fit into the file before it had to grow');

    fs.rmSync(filler);
    await waitForScrape(registry, expectedNewSeries(3000, 1), 'every series kept in memory reaches the file with its value');

    // The moved series now write into the file, not into the memory they left.
    await worker.request({ op: 'bumpSeries', from: 0, to: 3000 });
    await worker.request({ op: 'bumpExisting' });
    const after = await scrape(registry);
    assert.deepEqual(mismatches(after, expectedNewSeries(3000, 2)), [], 'the scrape after the moved series were incremented again');
    assert.equal(after.jobs.get('old'), 19);
    assert.deepEqual(after.latency.get('/old'), { count: 3, sum: 1.05 });

    const final = await worker.request({ op: 'finish' });
    for (const file of [counterFile, histogramFile]) {
      const naming = final.warnings.filter((w) => w.includes(file));
      assert.equal(naming.length, 2, `expected the failure and the recovery of ${file}, got:\n${final.warnings.join('\n')}`);
      assert.match(naming[1], /could grow again/);
    }
    assert.equal(final.warnings.length, 4);
    await expectCleanExit(worker);
    assert.deepEqual(leftovers(dir), []);
    assert.deepEqual(registryWarnings, [], 'the collector never met a damaged file');
  } finally {
    await worker?.stop();
    registry.close();
    unmountTmpfs(dir);
  }
});

test('files that cannot be created on a full disk: the process counts in memory and the files appear later', async (t) => {
  const mounted = mountWithCollector(t);
  if (!mounted) return;
  const { dir, registry, registryWarnings } = mounted;
  let worker: Worker | undefined;
  try {
    const filler = fillDisk(dir);
    // The default logger this time: what an application gets on stderr.
    worker = startWorker(dir, 'console');
    await worker.request({ op: 'createExisting' });
    await worker.request({ op: 'addSeries', from: 0, to: 500 });
    await worker.request({ op: 'bumpExisting' });
    const whileFull = await worker.request({ op: 'ownValues' });
    const counterFile = path.join(dir, `counter_${worker.child.pid}.db`);
    const histogramFile = path.join(dir, `histogram_${worker.child.pid}.db`);

    assert.equal(worker.child.exitCode, null, 'the worker must still run on a full disk');
    assert.deepEqual(fs.readdirSync(dir), ['filler'], 'no file, not even a partial or temporary one, may be left on the full disk');
    const own = ownAsScrape(whileFull.own!);
    assert.deepEqual(mismatches(own, expectedNewSeries(500, 1)), [], 'the worker\'s own get() while no file could be created');
    assert.equal(own.jobs.get('old'), 12);
    assert.deepEqual(own.latency.get('/old'), { count: 2, sum: 0.55 });
    const full = await scrape(registry);
    assert.equal(full.jobs.size + full.latency.size, 0, 'a scrape finds series although no file could be created');

    fs.rmSync(filler);
    const expected = expectedNewSeries(500, 1);
    expected.jobs.set('old', 12);
    expected.latency.set('/old', { count: 2, sum: 0.55 });
    await waitForScrape(registry, expected, 'the files are created with every series counted meanwhile');
    assert.ok(fs.existsSync(counterFile) && fs.existsSync(histogramFile), `expected ${counterFile} and ${histogramFile}`);

    await worker.request({ op: 'bumpSeries', from: 0, to: 500 });
    await worker.request({ op: 'bumpExisting' });
    const after = await scrape(registry);
    assert.deepEqual(mismatches(after, expectedNewSeries(500, 2)), [], 'the scrape after the series were incremented again in the new files');
    assert.equal(after.jobs.get('old'), 19);
    assert.deepEqual(after.latency.get('/old'), { count: 3, sum: 1.05 });

    await worker.request({ op: 'finish' });
    await expectCleanExit(worker);
    const logged = worker
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('prom-multiproc:'));
    for (const file of [counterFile, histogramFile]) {
      const failures = logged.filter((line) => line.includes(file) && line.includes('ENOSPC'));
      assert.equal(failures.length, 1, `expected exactly one failure line naming ${file} on stderr, got:\n${worker.stderr()}`);
    }
    // Plus one line for the liveness marker, which the full disk could not take either.
    assert.equal(logged.filter((line) => line.includes('liveness lock') && line.includes('ENOSPC')).length, 1, worker.stderr());
    assert.equal(logged.length, 5, `expected one failure and one recovery line per file on stderr, got:\n${worker.stderr()}`);
    assert.deepEqual(registryWarnings, [], 'the collector never met a damaged file');
  } finally {
    await worker?.stop();
    registry.close();
    unmountTmpfs(dir);
  }
});

test('a writer exiting while the disk is still full says how many series never reached their files', async (t) => {
  const mounted = mountWithCollector(t);
  if (!mounted) return;
  const { dir, registry } = mounted;
  let worker: Worker | undefined;
  try {
    fillDisk(dir);
    worker = startWorker(dir, 'console');
    await worker.request({ op: 'createExisting' });
    await worker.request({ op: 'addSeries', from: 0, to: 20 });
    await worker.request({ op: 'finish' });
    await expectCleanExit(worker);
    const counterFile = path.join(dir, `counter_${worker.child.pid}.db`);
    const histogramFile = path.join(dir, `histogram_${worker.child.pid}.db`);
    const lost = worker
      .stderr()
      .split('\n')
      .filter((line) => line.includes('exiting with'));
    const histograms = 1 + Array.from({ length: 20 }, (_, i) => i).filter((i) => i % HISTOGRAM_EVERY === 0).length;
    assert.deepEqual(
      lost.sort(),
      [
        `prom-multiproc: exiting with 21 series still waiting in memory for room in ${counterFile}: their values are lost`,
        `prom-multiproc: exiting with ${histograms} series still waiting in memory for room in ${histogramFile}: their values are lost`,
      ].sort(),
      worker.stderr(),
    );
  } finally {
    await worker?.stop();
    registry.close();
    unmountTmpfs(dir);
  }
});
