// Compaction of the sidecar files (summary quantile buckets, native
// histogram buckets, exemplars) beside series that writers reset or removed,
// with forked writers, one of them SIGKILLed: a scrape says the same before
// and after compaction; a removed series leaves with all of its entries, so
// made again it counts from nothing; an exemplar file whose key a scrape
// would refuse is never carried into the accumulated file.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { compact, type Family } from '../src/index.js';
import { writeExemplar, EXEMPLAR_PAYLOAD_BYTES } from '../src/format/exemplar-record.js';
import { HEADER_SIZE, INITIAL_FILE_SIZE, entrySize, writeEntryKey, writeUsed } from '../src/format/layout.js';
import { ageLocks, quietRegistry } from './helpers/directory.js';
import { tempDir } from './helpers/fixtures.js';
import { startIpcWriter, type IpcWriter } from './helpers/ipc-writer.js';
import type { NativeCommand } from './helpers/native-worker.js';
import type { SummaryCommand } from './helpers/summary-worker.js';

const TIMEOUT_MS = 2000;

function summaryWriter(dir: string, id: string): Promise<IpcWriter<SummaryCommand>> {
  return startIpcWriter<SummaryCommand>(path.join(__dirname, 'helpers', 'summary-worker.ts'), { PROMETHEUS_MULTIPROC_DIR: dir, SUMMARY_PROCESS_ID: id, SUMMARY_TIMEOUT_MS: String(TIMEOUT_MS) });
}

function nativeWriter(dir: string, id: string): Promise<IpcWriter<NativeCommand>> {
  return startIpcWriter<NativeCommand>(path.join(__dirname, 'helpers', 'native-worker.ts'), { PROMETHEUS_MULTIPROC_DIR: dir, NATIVE_PROCESS_ID: id, NATIVE_FACTOR: '1.1', NATIVE_TIMEOUT_MS: String(TIMEOUT_MS) });
}

/** The sample lines of `family` in a text scrape of `dir`. */
async function lines(dir: string, family: string): Promise<string[]> {
  return (await quietRegistry(dir).metrics()).split('\n').filter((line) => line.startsWith(`${family}{`) || line.startsWith(`${family}_`));
}

/** Compacts until `id`'s files are merged (its lock aged as a SIGKILLed writer's is once its timeout has passed). */
function compactDead(dir: string, id: string): void {
  ageLocks(dir, 10 * TIMEOUT_MS, [id]);
  const result = compact(dir, { logger: { warn: (m) => assert.fail(`unexpected warning: ${m}`) } });
  assert.deepEqual(result?.compacted, [id]);
}

describe('compaction of sidecar files beside reset and removed series', () => {
  it('a summary: a dead writer\'s quantile buckets stay counted beside a live writer that reset the summary', async () => {
    const { dir, cleanup } = tempDir();
    const live = await summaryWriter(dir, 'live');
    try {
      await live.send({ op: 'observe', metric: 'latency', route: 'x', values: [40, 50] });
      await live.send({ op: 'reset', metric: 'latency' });
      const dead = await summaryWriter(dir, 'dead');
      await dead.send({ op: 'observe', metric: 'latency', route: 'x', values: [1.05, 1.1, 1.15] });
      await dead.kill();
      const before = await lines(dir, 'latency_seconds');
      assert.ok(before.some((line) => /^latency_seconds\{quantile="0\.5",route="x"\} 1\.1/.test(line)), before.join('\n'));
      compactDead(dir, 'dead');
      assert.deepEqual(await lines(dir, 'latency_seconds'), before, 'the scrape after compaction');
    } finally {
      await live.exit();
      cleanup();
    }
  });

  it('a summary: removed by the live writer, the series leaves with the dead writer\'s buckets, and made again counts from nothing', async () => {
    const { dir, cleanup } = tempDir();
    // 'alive' sorts before 'compacted': its window entry is read before the accumulated file's buckets.
    const live = await summaryWriter(dir, 'alive');
    try {
      await live.send({ op: 'observe', metric: 'latency', route: 'x', values: [2] });
      const dead = await summaryWriter(dir, 'dead');
      await dead.send({ op: 'observe', metric: 'latency', route: 'x', values: [300, 310, 320] });
      await dead.kill();
      await live.send({ op: 'remove', metric: 'latency', route: 'x' });
      ageLocks(dir, 10 * TIMEOUT_MS, ['dead']);
      assert.deepEqual(await lines(dir, 'latency_seconds'), [], 'removed by its only live holder');
      compactDead(dir, 'dead');
      assert.deepEqual(await lines(dir, 'latency_seconds'), []);
      await live.send({ op: 'observe', metric: 'latency', route: 'x', values: [5] });
      const again = await lines(dir, 'latency_seconds');
      assert.ok(again.includes('latency_seconds_count{route="x"} 1.0'), again.join('\n'));
      // Every quantile of the one observation 5, none of the dead writer's 300s.
      const quantiles = again.filter((line) => line.includes('quantile=')).map((line) => Number(line.split(' ')[1]));
      assert.ok(quantiles.length > 0 && quantiles.every((q) => q === 5), again.join('\n'));
    } finally {
      await live.exit();
      cleanup();
    }
  });

  it('a native histogram: removed by the live writer, the dead writer\'s buckets leave with it; made again, its native count is its classic count', async () => {
    const { dir, cleanup } = tempDir();
    const live = await nativeWriter(dir, 'live');
    try {
      await live.send({ op: 'observe', route: 'x', values: [2] });
      const dead = await nativeWriter(dir, 'dead');
      await dead.send({ op: 'observe', route: 'x', values: [300, 0.001, 7] });
      await dead.kill();
      await live.send({ op: 'remove', route: 'x' });
      compactDead(dir, 'dead');
      await live.send({ op: 'observe', route: 'x', values: [5] });
      const family = (await quietRegistry(dir).collect()).find((f: Family) => f.name === 'latency_seconds');
      assert.ok(family, 'no latency_seconds family');
      const native = family.native?.find((s) => s.labels.route === 'x')?.histogram;
      assert.ok(native, 'no native histogram for route x');
      assert.equal(family.samples.find((s) => s.name === 'latency_seconds_count' && s.labels.route === 'x')?.value, 1);
      assert.equal(native.count, 1, JSON.stringify(native));
      assert.equal(native.sum, 5);
    } finally {
      await live.exit();
      cleanup();
    }
  });

  it('an exemplar file with a key that is no bucket\'s is not carried into the accumulated file (every scrape would skip it)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      // A dead writer's marker and two exemplars: one of a bucket, one keyed by a histogram's _sum.
      fs.writeFileSync(path.join(dir, 'dead.writer'), JSON.stringify({ instance: '0123456789abcdef', pid: 1, hostname: 'h', startedAt: '', livenessTimeoutMs: TIMEOUT_MS }));
      const keys = [
        ['h', 'h_bucket', { le: '1.0' }, 'Help.'],
        ['h', 'h_sum', {}, 'Help.'],
      ].map((key) => Buffer.from(JSON.stringify(key)));
      const image = Buffer.alloc(INITIAL_FILE_SIZE);
      let pos = HEADER_SIZE;
      for (const key of keys) {
        const payload = writeEntryKey(image, pos, key);
        writeExemplar(image, payload, { trace_id: 'abc' }, 0.5, 1700000000);
        pos += entrySize(key.length, EXEMPLAR_PAYLOAD_BYTES);
      }
      writeUsed(image, pos);
      fs.writeFileSync(path.join(dir, 'histogram_dead.exdb'), image);
      const warnings: string[] = [];
      compact(dir, { logger: { warn: (m) => warnings.push(m) } });
      assert.ok(!fs.existsSync(path.join(dir, 'histogram_compacted.exdb')), 'a refused file was carried over');
      assert.ok(fs.existsSync(path.join(dir, 'histogram_dead.exdb')), 'the refused file is left for inspection');
      assert.ok(warnings.some((w) => /not a bucket's/.test(w)), warnings.join('\n'));
    } finally {
      cleanup();
    }
  });
});
