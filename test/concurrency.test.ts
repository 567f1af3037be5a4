// Real processes and threads count into one multiprocess directory while a
// scraper merges it: every scrape must parse, skip no file and never see a
// counter go down; afterwards the merged totals must be exact and every file
// byte-valid per docs/format.md.
import * as assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MultiprocessRegistry, markProcessDead } from '../src/index.js';
import type { FileEntry } from './helpers/read-entries.js';
import { INITIAL_FILE_SIZE } from '../src/format/layout.js';
import {
  ScrapeChecker,
  ScrapeLoop,
  checkFileBytes,
  exitOf,
  parseExposition,
  seriesKey,
  stopChild,
  type ParsedExposition,
} from './helpers/concurrency-checks.js';
import { HELD_KINDS, JOBS, LATENCY, LATENCY_LES, PROCESSED, expectedPerWriterKind, expectedSamples, type WorkloadSpec } from './helpers/concurrency-workload.js';
import { tempDir } from './helpers/fixtures.js';

const HELPERS = path.join(__dirname, 'helpers');
const TSX = ['--import', 'tsx'];
const PROJECT_ROOT = path.join(__dirname, '..');

/** 3000 counter series and 200 histogram children take each writer's files well past 64 KiB. */
const SPEC: WorkloadSpec = { increments: 20000, growthSeries: 3000, growthRoutes: 200, batch: 100 };
const PREFIXES = ['counter', 'histogram', 'gauge_livesum'];
const PROCESSED_KEY = seriesKey(PROCESSED.name, {});
const HELD_KEY = seriesKey(JOBS.name, { kind: HELD_KINDS[0] });

interface Launched {
  child: ChildProcess;
  stderr: () => string;
}

function launch(script: string, args: string[], dir: string): Launched {
  const child = fork(path.join(HELPERS, script), args, {
    cwd: PROJECT_ROOT,
    execArgv: TSX,
    env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { child, stderr: () => stderr };
}

async function assertExitedCleanly(launched: Launched, what: string): Promise<void> {
  const { code, signal } = await exitOf(launched.child);
  assert.equal(code, 0, `${what} (pid ${launched.child.pid}) exited with code ${code}, signal ${signal}:\n${launched.stderr()}`);
}

/** Stops whatever is still running and removes the directory, whether the test passed or not. */
async function teardown(launched: Launched[], cleanup: () => void): Promise<void> {
  for (const { child } of launched) stopChild(child);
  await Promise.all(launched.map(({ child }) => exitOf(child)));
  cleanup();
}

function assertExactTotals(parsed: ParsedExposition, expected: Map<string, number>, where: string): void {
  for (const [key, value] of expected) {
    assert.equal(parsed.byKey.get(key)?.value, value, `${where}: ${key}`);
  }
  const ours = [...parsed.byKey.keys()].filter((key) => key.startsWith('conc_'));
  assert.equal(ours.length, expected.size, `${where}: ${ours.length} conc_ series exported, ${expected.size} expected`);
}

/**
 * Checks the files of each writer id: exactly one per prefix and nothing
 * else (no temporary file left behind), each byte-valid, and the held series
 * exact in the writer's own counter file.
 */
function assertWriterFiles(dir: string, ids: readonly string[]): void {
  const expectedNames = ids.flatMap((id) => PREFIXES.map((prefix) => `${prefix}_${id}.db`)).sort();
  // Besides its metrics files, each writer keeps a liveness marker (and, while alive, a lock).
  const files = fs.readdirSync(dir).filter((name) => !name.endsWith('.writer') && !name.endsWith('.lock'));
  assert.deepEqual(files.sort(), expectedNames, `files in ${dir}`);
  const perKind = Object.fromEntries(expectedPerWriterKind(SPEC));
  for (const id of ids) {
    const entries = new Map(PREFIXES.map((prefix) => [prefix, checkFileBytes(path.join(dir, `${prefix}_${id}.db`))]));
    assertHistogramEntryOrder(path.join(dir, `histogram_${id}.db`), entries.get('histogram')!);
    const counterFile = path.join(dir, `counter_${id}.db`);
    assert.ok(fs.statSync(counterFile).size > INITIAL_FILE_SIZE, `${counterFile} never grew past 64 KiB`);
    const held = entries.get('counter')!.filter((e) => HELD_KINDS.includes(e.labels.kind));
    assert.deepEqual(
      Object.fromEntries(held.map((e) => [e.labels.kind, e.value])),
      perKind,
      `${counterFile}: the handles taken before the file grew must have counted everything`,
    );
  }
}

/** A histogram child's entries are created together: `_sum`, then one bucket per bound in bound order. */
function assertHistogramEntryOrder(file: string, entries: readonly FileEntry[]): void {
  const perChild = LATENCY_LES.length + 1;
  assert.equal(entries.length % perChild, 0, `${file}: ${entries.length} entries are not whole histogram children`);
  for (let at = 0; at < entries.length; at += perChild) {
    const route = entries[at].labels.route;
    assert.deepEqual(
      entries.slice(at, at + perChild).map((e) => [e.sampleName, e.labels.le, e.labels.route]),
      [[`${LATENCY.name}_sum`, undefined, route], ...LATENCY_LES.map((le) => [`${LATENCY.name}_bucket`, le, route])],
      `${file}: entries of route ${route} out of order`,
    );
  }
}

function warningCollector(): { logger: { warn(message: string): void }; warnings: string[] } {
  const warnings: string[] = [];
  return { logger: { warn: (message: string) => warnings.push(message) }, warnings };
}

describe('concurrent writers and scrapers', () => {
  it('forked processes count exactly while the test process scrapes, across file growth', async () => {
    const writers = 4;
    const { dir, cleanup } = tempDir('prom-multiproc-concurrency-');
    const { logger, warnings } = warningCollector();
    // This test reads every writer's own files: no compaction here (lifecycle.test.ts covers it).
    const registry = new MultiprocessRegistry({ dir, logger, compactThreshold: 0 });
    const heldTotals: number[] = [];
    const loop = new ScrapeLoop(registry, new ScrapeChecker(new Set(), warnings), (parsed) => {
      heldTotals.push(parsed.byKey.get(HELD_KEY)?.value ?? 0);
    });
    const launched: Launched[] = [];
    const sizesWhenGrown: number[] = [];
    const running = loop.run();
    try {
      for (let i = 0; i < writers; i++) {
        const worker = launch('concurrency-worker.ts', [JSON.stringify(SPEC)], dir);
        launched.push(worker);
        worker.child.on('message', (message: { type?: string }) => {
          if (message?.type !== 'grown') return;
          // The handles are taken and the files have grown; a scrape must pass before the handles count on.
          sizesWhenGrown.push(fs.statSync(path.join(dir, `counter_${worker.child.pid}.db`)).size);
          void loop.nextScrape().then(() => {
            if (worker.child.connected) worker.child.send({ type: 'resume' });
          });
        });
      }
      const allExited = Promise.all(launched.map((w, i) => assertExitedCleanly(w, `writer ${i}`)));
      await Promise.race([allExited, running.then(() => Promise.reject(new Error('the scrape loop stopped early')))]);
      loop.stop();
      await running;

      const expected = expectedSamples(SPEC, writers);
      const final = loop.checker.check(await registry.metrics());
      assertExactTotals(final, expected, 'final scrape');
      assert.equal(sizesWhenGrown.length, writers, 'every writer reported its files grown');
      for (const size of sizesWhenGrown) assert.ok(size > INITIAL_FILE_SIZE, `counter file was ${size} bytes after the growth`);
      const finalHeld = expected.get(HELD_KEY)!;
      assert.ok(
        heldTotals.some((total) => total > 0 && total < finalHeld),
        `no scrape saw the work in progress (held totals: ${heldTotals.slice(0, 20).join(', ')}...)`,
      );
      assertWriterFiles(dir, launched.map(({ child }) => String(child.pid)));
      assert.deepEqual(warnings, []);
    } finally {
      loop.stop();
      await running.catch(() => undefined);
      await teardown(launched, cleanup);
    }
  });

  it('node:cluster workers count exactly while their primary scrapes', async () => {
    const workers = 3;
    const { dir, cleanup } = tempDir('prom-multiproc-cluster-');
    const primary = launch('concurrency-cluster.ts', [JSON.stringify(SPEC), String(workers)], dir);
    try {
      const message = await new Promise<Record<string, unknown>>((resolve, reject) => {
        primary.child.once('message', (m) => resolve(m as Record<string, unknown>));
        primary.child.once('exit', (code) => reject(new Error(`cluster primary exited with code ${code} before reporting:\n${primary.stderr()}`)));
      });
      assert.equal(message.type, 'result', `cluster primary failed: ${String(message.message)}\n${primary.stderr()}`);
      await assertExitedCleanly(primary, 'cluster primary');
      const result = message as { workerPids: number[]; scrapes: number; grown: number; final: string; warnings: string[] };

      const expected = expectedSamples(SPEC, workers);
      assertExactTotals(parseExposition(result.final), expected, "primary's final scrape");
      assert.equal(result.grown, workers, 'every cluster worker reported its files grown');
      assert.ok(result.scrapes > workers, `the primary scraped only ${result.scrapes} times`);
      assert.deepEqual(result.warnings, []);

      // The primary wrote no metrics, so only its workers have files.
      assert.ok(!fs.readdirSync(dir).some((name) => name.includes(`_${primary.child.pid}`)), 'the primary has files of its own');
      assertWriterFiles(dir, result.workerPids.map(String));
      const { logger, warnings } = warningCollector();
      const afterwards = new ScrapeChecker(new Set(), warnings).check(await new MultiprocessRegistry({ dir, logger, compactThreshold: 0 }).metrics());
      assertExactTotals(afterwards, expected, 'scrape after the cluster exited');
      assert.deepEqual(warnings, []);
    } finally {
      await teardown([primary], cleanup);
    }
  });

  it('worker threads each write their own files and merge exactly with the main thread', async () => {
    const threads = 3;
    const { dir, cleanup } = tempDir('prom-multiproc-threads-');
    const { logger, warnings } = warningCollector();
    // This test reads every writer's own files: no compaction here (lifecycle.test.ts covers it).
    const registry = new MultiprocessRegistry({ dir, logger, compactThreshold: 0 });
    const loop = new ScrapeLoop(registry, new ScrapeChecker(new Set(), warnings));
    const owner = launch('concurrency-threads.ts', [JSON.stringify(SPEC), String(threads)], dir);
    const running = loop.run();
    try {
      const reported = new Promise<{ pid: number; threadIds: number[] }>((resolve) =>
        owner.child.once('message', (m) => resolve(m as { pid: number; threadIds: number[] })),
      );
      await Promise.race([assertExitedCleanly(owner, 'thread owner'), running.then(() => Promise.reject(new Error('the scrape loop stopped early')))]);
      loop.stop();
      await running;
      const { pid, threadIds } = await reported;

      assert.equal(pid, owner.child.pid);
      assert.equal(new Set(threadIds).size, threads, `thread ids ${threadIds.join(', ')} are not distinct`);
      assert.ok(!threadIds.includes(0), 'a worker thread got the main thread id 0');
      const ids = [String(pid), ...threadIds.map((t) => `${pid}-t${t}`)];
      assertWriterFiles(dir, ids);

      const final = loop.checker.check(await registry.metrics());
      assertExactTotals(final, expectedSamples(SPEC, threads + 1), 'merged main thread and worker threads');

      // The live gauge files of the process and of its threads all go with it.
      const removed = markProcessDead(pid, dir).map((file) => path.basename(file)).sort();
      assert.deepEqual(removed, ids.map((id) => `gauge_livesum_${id}.db`).sort());
      const afterDeath = parseExposition(await registry.metrics());
      assert.equal(afterDeath.byKey.get(PROCESSED_KEY), undefined, `${PROCESSED.name} is still exported after markProcessDead(${pid})`);
      assert.deepEqual(warnings, []);
    } finally {
      loop.stop();
      await running.catch(() => undefined);
      await teardown([owner], cleanup);
    }
  });
});
