// Native histograms across processes: forked writers at different schemas
// (different bucket factors) write their buckets into .nhdb files; the
// merged histogram must be exactly that of the union of their observations,
// computed here independently (helpers/native-reference.ts), through a
// writer's SIGKILL, compaction (also one killed halfway) and a writer
// lowering its schema while scrapes run.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { MultiprocessRegistry, clearMultiprocDir, compact, type Family, type NativeHistogramData } from '../src/index.js';
import { inspectFile } from '../src/surfaces/inspect.js';
import { tempDir } from './helpers/fixtures.js';
import { ageLocks, quietRegistry } from './helpers/directory.js';
import { startIpcWriter, type IpcWriter } from './helpers/ipc-writer.js';
import { expectedHistogram, stormValue, valuesAroundBounds } from './helpers/native-reference.js';
import type { NativeCommand } from './helpers/native-worker.js';

const WORKER = path.join(__dirname, 'helpers', 'native-worker.ts');
const TIMEOUT_MS = 2000;

type Writer = IpcWriter<NativeCommand>;

function startWriter(dir: string, id: string, factor: number, maxBuckets?: number): Promise<Writer> {
  return startIpcWriter<NativeCommand>(WORKER, {
    PROMETHEUS_MULTIPROC_DIR: dir,
    NATIVE_PROCESS_ID: id,
    NATIVE_FACTOR: String(factor),
    NATIVE_MAX_BUCKETS: maxBuckets === undefined ? '' : String(maxBuckets),
    NATIVE_TIMEOUT_MS: String(TIMEOUT_MS),
  });
}



interface Scraped {
  native: NativeHistogramData;
  classicCount: number;
  classicSum: number;
}

/** The native histogram and classic _count and _sum of route `route` in one scrape. */
function routeOf(families: Family[], route: string): Scraped {
  const family = families.find((f) => f.name === 'latency_seconds');
  assert.ok(family, 'no latency_seconds family');
  const native = family.native?.find((s) => s.labels.route === route)?.histogram;
  assert.ok(native, `no native histogram for route ${route}`);
  const sample = (name: string): number => family.samples.find((s) => s.name === name && s.labels.route === route)!.value;
  return { native, classicCount: sample('latency_seconds_count'), classicSum: sample('latency_seconds_sum') };
}

/** What a scrape must say of a route: exactly the histogram of `values` at `schema`, its count and sum those of the classic part. */
async function assertRoute(registries: MultiprocessRegistry[], route: string, values: number[], schema: number): Promise<void> {
  for (const registry of registries) {
    const { native, classicCount, classicSum } = routeOf(await registry.collect(), route);
    const { sum: _sum, zeroThreshold, ...counts } = native;
    assert.deepEqual(counts, expectedHistogram(values, schema), `route ${route}`);
    assert.equal(zeroThreshold, 2 ** -128);
    assert.equal(native.count, classicCount);
    assert.equal(native.sum, classicSum);
  }
}

/** Observations of one writer: zero, bounds of its own schema and one ulp around them, and ordinary values. */
const observed = {
  w3: [0, 0, 1e-45, -1e-45, 0.003, 0.25, 1, 1, 7.5, -2, ...valuesAroundBounds(3, -30, 30, 7)],
  w0: [0, 0.5, 1, 2, 4, 3, -3, 1e9, ...valuesAroundBounds(0, -5, 5)],
  w7: [1e-7, 0.001, 0.01, 0.0101, 0.1, 1.5, 42, -42, ...valuesAroundBounds(7, 100, 400, 37)],
};

describe('native histograms across processes', () => {
  it('merge writers at schemas 3, 0 and 7 exactly, through a SIGKILL and two compactions', async () => {
    const { dir, cleanup } = tempDir();
    const writers: Writer[] = [];
    try {
      const w3 = await startWriter(dir, 'w3', 1.1);
      const w0 = await startWriter(dir, 'w0', 2);
      const w7 = await startWriter(dir, 'w7', 1.01);
      writers.push(w3, w0, w7);
      await w3.send({ op: 'observe', route: 'a', values: observed.w3 });
      await w0.send({ op: 'observe', route: 'a', values: observed.w0 });
      await w7.send({ op: 'observe', route: 'a', values: observed.w7 });
      await w3.send({ op: 'observe', route: 'b', values: [0.2, 0.3] });
      await w7.send({ op: 'observe', route: 'b', values: [0.2, 0.4, 900] });
      const routeA = [...observed.w3, ...observed.w0, ...observed.w7];
      const routeB = [0.2, 0.3, 0.2, 0.4, 900];
      const longLived = quietRegistry(dir);
      await assertRoute([longLived], 'a', routeA, 0);
      await assertRoute([longLived], 'b', routeB, 3);
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.endsWith('.nhdb')).sort(),
        ['histogram_w0.nhdb', 'histogram_w3.nhdb', 'histogram_w7.nhdb'],
      );

      // A writer killed: its counts stay, in its file and then in the accumulated one.
      await w7.kill();
      await assertRoute([longLived, quietRegistry(dir)], 'a', routeA, 0);
      ageLocks(dir, 10 * TIMEOUT_MS, ['w7']);
      assert.deepEqual(compact(dir)?.compacted, ['w7']);
      assert.ok(!fs.existsSync(path.join(dir, 'histogram_w7.nhdb')));
      assert.deepEqual(inspectFile(path.join(dir, 'histogram_compacted.nhdb')).problems, []);
      await assertRoute([longLived, quietRegistry(dir)], 'a', routeA, 0);
      await assertRoute([longLived, quietRegistry(dir)], 'b', routeB, 3);

      // More observations, another writer gone (by exit this time): added into the accumulated file.
      await w3.send({ op: 'observe', route: 'b', values: [5, 6, -0.001] });
      routeB.push(5, 6, -0.001);
      await w0.send({ op: 'observe', route: 'b', values: [1e-3] });
      routeB.push(1e-3);
      await w0.exit();
      ageLocks(dir, 10 * TIMEOUT_MS, ['w0']);
      assert.deepEqual(compact(dir)?.compacted, ['w0']);
      await assertRoute([longLived, quietRegistry(dir)], 'a', routeA, 0);
      await assertRoute([longLived, quietRegistry(dir)], 'b', routeB, 0);
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.nhdb')).sort(), ['histogram_compacted.nhdb', 'histogram_w3.nhdb']);
      await w3.exit();
      // clear takes the native files with the others.
      assert.ok(clearMultiprocDir(dir).removed.includes('histogram_compacted.nhdb'));
      assert.deepEqual(fs.readdirSync(dir), []);
    } finally {
      for (const w of writers) w.child.kill('SIGKILL');
      cleanup();
    }
  });

  it('never lets a scrape see the count fall, fall below the buckets or the classic count, or the schema rise, while a writer lowers its schema', async () => {
    const { dir, cleanup } = tempDir();
    let writer: Writer | undefined;
    try {
      writer = await startWriter(dir, 'storm', 1.0001, 40);
      const registry = quietRegistry(dir);
      const seen: Array<{ schema: number; count: number }> = [];
      const check = (families: Family[]): void => {
        if (!families.some((f) => f.name === 'latency_seconds' && f.native)) return;
        const { native, classicCount } = routeOf(families, 's');
        const bucketSum = [...native.positive, ...native.negative].reduce((n, [, c]) => n + c, native.zeroCount);
        assert.equal(native.count, bucketSum);
        assert.ok(native.count >= classicCount, `native count ${native.count} below the classic count ${classicCount} read before it`);
        const last = seen[seen.length - 1];
        if (last) {
          assert.ok(native.count >= last.count, `count fell from ${last.count} to ${native.count}`);
          assert.ok(native.schema <= last.schema, `schema rose from ${last.schema} to ${native.schema}`);
        }
        seen.push({ schema: native.schema, count: native.count });
      };
      // Storms ever wider, scraped all along: the writer lowers its schema step by step.
      const values: number[] = [];
      for (const [seed, decades] of [[1, 0.05], [2, 0.3], [3, 2], [4, 12]] as const) {
        let answer: Record<string, unknown> | undefined;
        const storm = writer.send({ op: 'storm', route: 's', ms: 300, seed, decades }).then((a) => (answer = a));
        while (!answer) {
          check(await registry.collect());
          await yieldToEvents();
        }
        await storm;
        check(await registry.collect());
        for (let i = 0; i < (answer.count as number); i++) values.push(stormValue(seed, decades, i));
      }
      const { native } = routeOf(await registry.collect(), 's');
      assert.ok(native.schema < 8, `the writer should have lowered its schema (at ${native.schema})`);
      assert.ok(native.positive.length + native.negative.length <= 40);
      assert.ok(new Set(seen.map((s) => s.schema)).size > 1, `scrapes should have met several schemas, met ${[...new Set(seen.map((s) => s.schema))]}`);
      await assertRoute([registry, quietRegistry(dir)], 's', values, native.schema);
      // Dead and compacted, the series keeps its schema and counts.
      await writer.kill();
      ageLocks(dir, 10 * TIMEOUT_MS, ['storm']);
      assert.deepEqual(compact(dir)?.compacted, ['storm']);
      await assertRoute([registry, quietRegistry(dir)], 's', values, native.schema);
    } finally {
      writer?.child.kill('SIGKILL');
      cleanup();
    }
  });

  for (const step of ['after-first-install', 'after-first-remove'] as const) {
    it(`a compaction killed with SIGKILL ${step.replace(/-/g, ' ')} loses and double-counts no native bucket`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        const all: number[] = [];
        for (const [id, factor] of [['d1', 1.1], ['d2', 4]] as const) {
          const w = await startWriter(dir, id, factor);
          const values = [0, 0.1, 2, -3, ...valuesAroundBounds(factor === 4 ? -1 : 3, -4, 4)];
          await w.send({ op: 'observe', route: 'a', values });
          all.push(...values);
          await w.exit();
          ageLocks(dir, 10 * TIMEOUT_MS, [id]);
        }
        const longLived = quietRegistry(dir);
        await assertRoute([longLived], 'a', all, -1);
        const run = spawnSync(
          process.execPath,
          ['--import', 'tsx', '-e', `require(${JSON.stringify(path.join(__dirname, '..', 'src', 'index.ts'))}).compact(${JSON.stringify(dir)})`],
          { env: { ...process.env, PROM_MULTIPROC_FAULT: `compaction:${step}` }, encoding: 'utf8' },
        );
        assert.equal(run.signal, 'SIGKILL', `the compaction was to be killed ${step}: ${run.stderr}`);
        await assertRoute([longLived, quietRegistry(dir)], 'a', all, -1);
        // The killed compactor's directory lock goes stale; the next compaction finishes the work.
        const past = new Date(Date.now() - 120000);
        for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.lock'))) fs.utimesSync(path.join(dir, name), past, past);
        compact(dir);
        await assertRoute([longLived, quietRegistry(dir)], 'a', all, -1);
        assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.nhdb')), ['histogram_compacted.nhdb']);
      } finally {
        cleanup();
      }
    });
  }
});
