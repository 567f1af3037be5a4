// Summary quantiles across processes: forked writers, each observing a
// different distribution, count their observations in schema-5 buckets in
// summary_<id>.nhdb; a scrape's quantiles must be within
// SUMMARY_RELATIVE_ERROR of the exact quantiles of the union of every
// writer's observations (computed here from the same values), through a
// SIGKILL and compaction; a window forgets what is older than maxAgeSeconds;
// the exposition passes promtool; _count and _sum stay in the .db files.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { MultiprocessRegistry, clearMultiprocDir, compact, type Family } from '../src/index.js';
import { SUMMARY_RELATIVE_ERROR } from '../src/format/summary-window.js';
import { formatInspection, inspectFile } from '../src/surfaces/inspect.js';
import { tempDir } from './helpers/fixtures.js';
import { ageLocks, quietRegistry } from './helpers/directory.js';
import { startIpcWriter, type IpcWriter } from './helpers/ipc-writer.js';
import { skipUnlessInstalled } from './helpers/programs.js';
import { runPromtool } from './helpers/promtool.js';
import { LATENCY_PERCENTILES, WINDOWED_PERCENTILES, exactQuantile, random } from './helpers/summary-reference.js';
import type { SummaryCommand } from './helpers/summary-worker.js';

const WORKER = path.join(__dirname, 'helpers', 'summary-worker.ts');
const TIMEOUT_MS = 2000;

type Writer = IpcWriter<SummaryCommand>;

function startWriter(dir: string, id: string): Promise<Writer> {
  return startIpcWriter<SummaryCommand>(WORKER, { PROMETHEUS_MULTIPROC_DIR: dir, SUMMARY_PROCESS_ID: id, SUMMARY_TIMEOUT_MS: String(TIMEOUT_MS) });
}



/** Three distributions, one per writer: uniform milliseconds, log-normal-ish seconds over six decades, a mix of zeros, negatives and large values. */
const DISTRIBUTIONS = {
  uniform: (n: number) => {
    const next = random(1);
    return Array.from({ length: n }, () => 1 + Math.floor(next() * 1000));
  },
  logNormal: (n: number) => {
    const next = random(2);
    return Array.from({ length: n }, () => 10 ** (next() * 6 - 4) * (1 + next()));
  },
  mixed: (n: number) => {
    const next = random(3);
    return Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 0 : i % 7 === 0 ? -next() * 50 : next() * 1e6));
  },
};

interface ScrapedSummary {
  quantiles: Map<number, number>;
  count: number;
  sum: number;
}

function summaryOf(families: Family[], name: string, route: string): ScrapedSummary {
  const family = families.find((f) => f.name === name);
  assert.ok(family, `no ${name} family`);
  assert.equal(family.type, 'summary');
  const ofRoute = family.samples.filter((s) => s.labels.route === route);
  const quantiles = new Map(ofRoute.filter((s) => s.name === name).map((s) => [Number(s.labels.quantile), s.value]));
  const value = (sample: string): number => ofRoute.find((s) => s.name === sample)!.value;
  return { quantiles, count: value(`${name}_count`), sum: value(`${name}_sum`) };
}

/** Every percentile of a scrape within the stated error of the exact quantile of `values`. */
function assertQuantiles(scraped: ScrapedSummary, percentiles: readonly number[], values: readonly number[], what: string): void {
  assert.deepEqual([...scraped.quantiles.keys()], [...percentiles], `${what}: the percentiles, in their order`);
  for (const q of percentiles) {
    const exact = exactQuantile(values, q);
    const got = scraped.quantiles.get(q)!;
    // The bound, and a few ulps for the float arithmetic of the bucket's representative.
    const allowed = SUMMARY_RELATIVE_ERROR * Math.abs(exact) * (1 + 1e-12);
    assert.ok(Math.abs(got - exact) <= allowed, `${what}: quantile ${q} is ${got}, exact ${exact}, off by ${Math.abs(got - exact) / Math.abs(exact || 1)} (allowed ${SUMMARY_RELATIVE_ERROR})`);
  }
}

describe('summary quantiles across processes', () => {
  it('merge three writers with different distributions within the error bound, through a SIGKILL and a compaction', async () => {
    const { dir, cleanup } = tempDir();
    const writers: Writer[] = [];
    try {
      const uniform = await startWriter(dir, 'wu');
      const logNormal = await startWriter(dir, 'wl');
      const mixed = await startWriter(dir, 'wm');
      writers.push(uniform, logNormal, mixed);
      const observed = { uniform: DISTRIBUTIONS.uniform(3000), logNormal: DISTRIBUTIONS.logNormal(2000), mixed: DISTRIBUTIONS.mixed(1500) };
      await uniform.send({ op: 'observe', metric: 'latency', route: 'a', values: observed.uniform });
      await logNormal.send({ op: 'observe', metric: 'latency', route: 'a', values: observed.logNormal });
      await mixed.send({ op: 'observe', metric: 'latency', route: 'a', values: observed.mixed });
      // Route b: one writer alone, so its quantiles are its own.
      await logNormal.send({ op: 'observe', metric: 'latency', route: 'b', values: observed.logNormal.slice(0, 100) });
      const union = [...observed.uniform, ...observed.logNormal, ...observed.mixed];
      const sum = union.reduce((a, b) => a + b, 0);

      const longLived = quietRegistry(dir);
      const check = async (registries: MultiprocessRegistry[], when: string): Promise<void> => {
        for (const registry of registries) {
          const families = await registry.collect();
          const a = summaryOf(families, 'latency_seconds', 'a');
          assertQuantiles(a, LATENCY_PERCENTILES, union, `${when}, route a`);
          // The extremes merged over writers: the smallest and largest observation, exactly.
          assert.equal(a.quantiles.get(0), Math.min(...union), `${when}: quantile 0`);
          assert.equal(a.quantiles.get(1), Math.max(...union), `${when}: quantile 1`);
          assert.equal(a.count, union.length);
          assert.ok(Math.abs(a.sum - sum) <= 1e-9 * Math.abs(sum), `${when}: _sum ${a.sum}, expected ${sum}`);
          assertQuantiles(summaryOf(families, 'latency_seconds', 'b'), LATENCY_PERCENTILES, observed.logNormal.slice(0, 100), `${when}, route b`);
        }
      };
      await check([longLived], 'three live writers');
      // The merged quantiles are not those of one writer (the test would pass with one writer's alone otherwise).
      const median = summaryOf(await longLived.collect(), 'latency_seconds', 'a').quantiles.get(0.5)!;
      for (const values of Object.values(observed)) assert.ok(Math.abs(median - exactQuantile(values, 0.5)) > SUMMARY_RELATIVE_ERROR * Math.abs(median));
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.startsWith('summary_')).sort(),
        ['summary_wl.db', 'summary_wl.nhdb', 'summary_wm.db', 'summary_wm.nhdb', 'summary_wu.db', 'summary_wu.nhdb'],
      );

      // Killed: its buckets stay, in its file and then in the accumulated one.
      await mixed.kill();
      await check([longLived, quietRegistry(dir)], 'a writer killed');
      ageLocks(dir, 10 * TIMEOUT_MS, ['wm']);
      assert.deepEqual(compact(dir)?.compacted, ['wm']);
      assert.ok(!fs.existsSync(path.join(dir, 'summary_wm.nhdb')));
      const accumulated = inspectFile(path.join(dir, 'summary_compacted.nhdb'));
      assert.deepEqual(accumulated.problems, []);
      assert.ok(accumulated.entries.some((e) => e.entry?.kind === 'window'));
      const report = formatInspection(accumulated);
      assert.match(report, /summary_compacted\.nhdb: summary quantile buckets, process compacted/);
      assert.match(report, /epoch 0 +\["latency_seconds", "pos:0:/, 'a bucket shows its epoch');
      await check([longLived, quietRegistry(dir)], 'after compaction');

      // Another writer gone (by exit), compacted into the same file: nothing double counted.
      await logNormal.exit();
      ageLocks(dir, 10 * TIMEOUT_MS, ['wl']);
      assert.deepEqual(compact(dir)?.compacted, ['wl']);
      await check([longLived, quietRegistry(dir)], 'after a second compaction');

      await uniform.exit();
      const removed = clearMultiprocDir(dir).removed;
      for (const file of ['summary_compacted.nhdb', 'summary_wu.nhdb']) assert.ok(removed.includes(file), `clear removes ${file}`);
      assert.deepEqual(fs.readdirSync(dir), []);
    } finally {
      for (const w of writers) w.child.kill('SIGKILL');
      cleanup();
    }
  });

  it('forget what is older than maxAgeSeconds (2 s, ageBuckets 2), in live and compacted files, while _count and _sum keep counting', async () => {
    const { dir, cleanup } = tempDir();
    const writers: Writer[] = [];
    try {
      const w1 = await startWriter(dir, 'r1');
      const w2 = await startWriter(dir, 'r2');
      // Started now: starting a writer can take a second, longer than what is left of the window later.
      const w3 = await startWriter(dir, 'r3');
      writers.push(w1, w2, w3);
      const old1 = DISTRIBUTIONS.uniform(500);
      const old2 = DISTRIBUTIONS.logNormal(500);
      await w1.send({ op: 'observe', metric: 'windowed', route: 'a', values: old1 });
      await w2.send({ op: 'observe', metric: 'windowed', route: 'a', values: old2 });
      const registry = quietRegistry(dir);
      assertQuantiles(summaryOf(await registry.collect(), 'recent_seconds', 'a'), WINDOWED_PERCENTILES, [...old1, ...old2], 'just observed');

      // w2 dies and is compacted while its buckets are in the window: they stay until they age out.
      await w2.kill();
      ageLocks(dir, 10 * TIMEOUT_MS, ['r2']);
      assert.deepEqual(compact(dir)?.compacted, ['r2']);
      assertQuantiles(summaryOf(await registry.collect(), 'recent_seconds', 'a'), WINDOWED_PERCENTILES, [...old1, ...old2], 'compacted within the window');

      // Past maxAgeSeconds: the old observations are gone from the quantiles, not from _count.
      await sleep(2200);
      const aged = summaryOf(await registry.collect(), 'recent_seconds', 'a');
      assert.deepEqual([...aged.quantiles.values()], WINDOWED_PERCENTILES.map(() => 0), 'an empty window reads 0, as prom-client');
      assert.equal(aged.count, 1000);
      const recent = DISTRIBUTIONS.mixed(400);
      await w1.send({ op: 'observe', metric: 'windowed', route: 'a', values: recent });
      const now = summaryOf(await registry.collect(), 'recent_seconds', 'a');
      assertQuantiles(now, WINDOWED_PERCENTILES, recent, 'observed after the old ones aged out');
      assert.equal(now.count, 1400);

      // A compaction now drops the compacted buckets that aged out (only the window entry of r2's series is left).
      await w3.send({ op: 'observe', metric: 'windowed', route: 'a', values: [1] });
      await w3.kill();
      ageLocks(dir, 10 * TIMEOUT_MS, ['r3']);
      assert.deepEqual(compact(dir)?.compacted, ['r3']);
      const kinds = inspectFile(path.join(dir, 'summary_compacted.nhdb')).entries.filter((e) => e.family === 'recent_seconds').map((e) => e.entry?.kind);
      assert.deepEqual(kinds.sort(), ['max', 'min', 'positive', 'window'], "r3 observed 1 just now: its one bucket and extremes stay, r2's aged out");
      assertQuantiles(summaryOf(await registry.collect(), 'recent_seconds', 'a'), WINDOWED_PERCENTILES, [...recent, 1], 'after compacting r3');
    } finally {
      for (const w of writers) w.child.kill('SIGKILL');
      cleanup();
    }
  });

  it('expose quantile lines before _sum and _count, quantile label first, that promtool accepts', { skip: skipUnlessInstalled('promtool') }, async () => {
    const { dir, cleanup } = tempDir();
    const writers: Writer[] = [];
    try {
      const w = await startWriter(dir, 'p1');
      writers.push(w);
      await w.send({ op: 'observe', metric: 'latency', route: 'a', values: [0.5, 1, 2] });
      await w.send({ op: 'observe', metric: 'windowed', route: 'b', values: [3] });
      const labelled = quietRegistry(dir);
      labelled.setDefaultLabels({ app: 'x' });
      for (const [registry, prefix] of [[quietRegistry(dir), ''], [labelled, 'app="x",']] as const) {
        const text = await registry.metrics();
        const lines = text.split('\n').filter((l) => l.startsWith('latency_seconds'));
        assert.equal(lines.length, LATENCY_PERCENTILES.length + 2, text);
        // quantile first, then the labels sorted (default ones among them); the smallest observation exact (the extremes are kept beside the buckets).
        assert.equal(lines[0], `latency_seconds{quantile="0",${prefix}route="a"} 0.5`);
        assert.match(lines[lines.length - 2], /^latency_seconds_sum\{/);
        assert.match(lines[lines.length - 1], /^latency_seconds_count\{/);
        const check = runPromtool(['check', 'metrics'], text);
        assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}\n${text}`);
      }
      const registry = quietRegistry(dir);
      registry.setContentType('application/openmetrics-text; version=1.0.0; charset=utf-8');
      const open = await registry.metrics();
      assert.match(open, /^recent_seconds\{quantile="0\.5",route="b"\} 3(\.0)?$/m);
      assert.match(open, /^# EOF\n$/m);
    } finally {
      for (const w of writers) w.child.kill('SIGKILL');
      cleanup();
    }
  });
});
