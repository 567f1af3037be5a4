import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MultiprocessRegistry } from '../src/index.js';
import { currentLayoutFile, pythonKey, type RawEntry } from './helpers/db-files.js';
import { tempDir } from './helpers/fixtures.js';
import { skipUnlessInstalled } from './helpers/programs.js';
import { assertPromtoolParses } from './helpers/promtool.js';
import { runSnippet } from './helpers/run-script.js';

function counterEntry(label: string, value: number): RawEntry {
  return { key: pythonKey('hits', 'hits_total', { path: label }, 'Hits.'), value };
}

function quietRegistry(dir: string): { registry: MultiprocessRegistry; warnings: string[] } {
  const warnings: string[] = [];
  return { registry: new MultiprocessRegistry({ dir, logger: { warn: (m) => warnings.push(m) } }), warnings };
}

function samples(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('hits_total'));
}

describe('the incremental collector between two scrapes', () => {
  it('a file that gains entries and changes values: new series appear, values are read fresh', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'counter_1.db');
      fs.writeFileSync(file, currentLayoutFile([counterEntry('/a', 1)]));
      const { registry, warnings } = quietRegistry(dir);
      assert.deepEqual(samples(await registry.metrics()), ['hits_total{path="/a"} 1.0']);
      fs.writeFileSync(file, currentLayoutFile([counterEntry('/a', 5), counterEntry('/b', 2), counterEntry('/c', 3)]));
      assert.deepEqual(samples(await registry.metrics()), ['hits_total{path="/a"} 5.0', 'hits_total{path="/b"} 2.0', 'hits_total{path="/c"} 3.0']);
      assert.deepEqual(warnings, []);
    } finally {
      cleanup();
    }
  });

  it('files with the same series in the same order, then one grows differently: each keeps its own entries', async () => {
    const { dir, cleanup } = tempDir();
    try {
      // Same keys at the same offsets: the collector keeps one entry list for all three.
      const same = (base: number): RawEntry[] => [counterEntry('/a', base), counterEntry('/b', base * 10)];
      const files = ['counter_1.db', 'counter_2.db', 'counter_3.db'].map((name) => path.join(dir, name));
      files.forEach((file, i) => fs.writeFileSync(file, currentLayoutFile(same(i + 1))));
      const { registry, warnings } = quietRegistry(dir);
      assert.deepEqual(samples(await registry.metrics()), ['hits_total{path="/a"} 6.0', 'hits_total{path="/b"} 60.0']);
      // One gains a series the others lack, another gains a different one in another order.
      fs.writeFileSync(files[0], currentLayoutFile([...same(1), counterEntry('/c', 100)]));
      fs.writeFileSync(files[1], currentLayoutFile([...same(2), counterEntry('/d', 1000), counterEntry('/c', 7)]));
      assert.deepEqual(samples(await registry.metrics()), [
        'hits_total{path="/a"} 6.0',
        'hits_total{path="/b"} 60.0',
        'hits_total{path="/c"} 107.0',
        'hits_total{path="/d"} 1000.0',
      ]);
      // The third, still on the shared list, changes values only.
      fs.writeFileSync(files[2], currentLayoutFile(same(5)));
      assert.deepEqual(samples(await registry.metrics()), [
        'hits_total{path="/a"} 8.0',
        'hits_total{path="/b"} 80.0',
        'hits_total{path="/c"} 107.0',
        'hits_total{path="/d"} 1000.0',
      ]);
      const fresh = quietRegistry(dir).registry;
      assert.equal(await fresh.metrics(), await registry.metrics());
      assert.deepEqual(warnings, []);
    } finally {
      cleanup();
    }
  });

  it('collect() gives back every label set exactly, separators and escapes in values included', async () => {
    const { dir, cleanup } = tempDir();
    try {
      // JSON escapes as they stand in the key text: \u0001, \u0000 and \u0002 (labelsKey's separators and escape), quote, backslash, newline, é.
      // And one raw U+FFFD, valid UTF-8 that a lenient decoder would also produce for bad bytes.
      const odd = ['a\\u0001b', 'c\\u0000d', 'e\\u0002\\u0001f', 'quote\\" backslash\\\\ newline\\n', 'caf\\u00e9', 'raw \uFFFD'];
      // Keys written the way Python escapes them (json.dumps, ASCII only).
      const entries: RawEntry[] = odd.map((value, i) => ({ key: `["hits", "hits_total", {"path": "${value}", "zone": "z${i}"}, "Hits."]`, value: i + 1 }));
      fs.writeFileSync(path.join(dir, 'counter_1.db'), currentLayoutFile(entries));
      const { registry, warnings } = quietRegistry(dir);
      const family = (await registry.collect()).find((f) => f.name === 'hits')!;
      const got = family.samples.map((s) => [s.labels, s.value]);
      const want = odd.map((value, i) => [{ path: JSON.parse(`"${value}"`) as string, zone: `z${i}` }, i + 1]);
      assert.deepEqual(
        got.sort((a, b) => (a[1] as number) - (b[1] as number)),
        want,
      );
      assert.deepEqual(warnings, []);
    } finally {
      cleanup();
    }
  });

  it('label sets that joined with separators would read alike stay apart (four real writers)', async (t) => {
    const { dir, cleanup } = tempDir();
    try {
      // Joined as name \0 value \1, the first two would both be "a\0x\1b\0y\1"; the last two hold the escape character itself.
      const labelSets: Array<Record<string, string>> = [{ a: 'x\u0001b\u0000y' }, { a: 'x', b: 'y' }, { a: 'x\u0002', b: 'y' }, { a: 'x\u0002\u0001b\u0000y' }];
      labelSets.forEach((labels, i) => {
        const result = runSnippet(
          `lib.configure({ processId: 'w${i}' });
          new lib.Counter({ name: 'hits', help: 'Hits.', labelNames: ${JSON.stringify(Object.keys(labels))} }).inc(${JSON.stringify(labels)}, ${10 ** i});`,
          { PROMETHEUS_MULTIPROC_DIR: dir },
        );
        assert.equal(result.status, 0, result.stderr);
      });
      const { registry, warnings } = quietRegistry(dir);
      const family = (await registry.collect()).find((f) => f.name === 'hits')!;
      assert.deepEqual(
        family.samples.map((s) => [s.labels, s.value]).sort((x, y) => (x[1] as number) - (y[1] as number)),
        labelSets.map((labels, i) => [labels, 10 ** i]),
      );
      const text = await registry.metrics();
      // The writers declared the counter 'hits': its samples are named so (prom-client's naming).
      assert.equal(text.split('\n').filter((line) => line.startsWith('hits{')).length, 4, text);
      assert.deepEqual(samples(text), [], text);
      const promtoolMissing = skipUnlessInstalled('promtool');
      if (promtoolMissing) t.diagnostic(`the promtool check is skipped: ${promtoolMissing}`);
      else assertPromtoolParses(text);
      assert.deepEqual(warnings, []);
    } finally {
      cleanup();
    }
  });

  it('files kept open between scrapes: at most 256, closed when deleted, all closed by close()', async () => {
    const { dir, cleanup } = tempDir();
    const openFiles = (): number => fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
      } catch {
        return false; // the descriptor readdir itself used
      }
    }).length;
    try {
      const files = Array.from({ length: 300 }, (_, i) => path.join(dir, `counter_${i}.db`));
      files.forEach((file, i) => fs.writeFileSync(file, currentLayoutFile([counterEntry('/a', i)])));
      const { registry, warnings } = quietRegistry(dir);
      const total = (300 * 299) / 2;
      assert.deepEqual(samples(await registry.metrics()), [`hits_total{path="/a"} ${total}.0`]);
      assert.equal(openFiles(), 256);
      // A kept file whose values change is read afresh through its descriptor.
      fs.writeFileSync(files[0], currentLayoutFile([counterEntry('/a', 1000)]));
      assert.deepEqual(samples(await registry.metrics()), [`hits_total{path="/a"} ${total + 1000}.0`]);
      for (const file of files.slice(100)) fs.unlinkSync(file);
      assert.deepEqual(samples(await registry.metrics()), [`hits_total{path="/a"} ${(100 * 99) / 2 + 1000}.0`]);
      assert.ok(openFiles() < 100, 'descriptors of deleted files are closed at the next scrape');
      await registry.metrics();
      assert.equal(openFiles(), 100, 'the room they leave is taken by the files read without a kept descriptor');
      registry.close();
      assert.equal(openFiles(), 0);
      assert.deepEqual(samples(await registry.metrics()), [`hits_total{path="/a"} ${(100 * 99) / 2 + 1000}.0`], 'a closed registry scrapes again');
      registry.close();
      assert.deepEqual(warnings, []);
      // Registries made one per request (not the intended use) share a cap of 1,024 kept descriptors.
      const many = Array.from({ length: 6 }, () => quietRegistry(dir).registry);
      for (const each of many) assert.deepEqual(samples(await each.metrics()), [`hits_total{path="/a"} ${(100 * 99) / 2 + 1000}.0`]);
      for (const file of files.slice(100)) fs.writeFileSync(file, currentLayoutFile([counterEntry('/a', 1)]));
      for (let round = 0; round < 2; round++) {
        for (const each of many) assert.deepEqual(samples(await each.metrics()), [`hits_total{path="/a"} ${(100 * 99) / 2 + 1000 + 200}.0`]);
      }
      const open = openFiles();
      assert.ok(open <= 1024 && open > 768, `${open} descriptors kept by 6 registries of 300 files`);
      for (const each of many) each.close();
      assert.equal(openFiles(), 0);
    } finally {
      cleanup();
    }
  });

  it('a file that grows past its size (doubling) between scrapes', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'counter_1.db');
      const first = Array.from({ length: 10 }, (_, i) => counterEntry(`/p${i}`, i));
      fs.writeFileSync(file, currentLayoutFile(first));
      const { registry, warnings } = quietRegistry(dir);
      assert.equal(samples(await registry.metrics()).length, 10);
      const many = Array.from({ length: 3000 }, (_, i) => counterEntry(`/p${i}`, i));
      const grown = currentLayoutFile(many);
      assert.ok(grown.length > 65536);
      fs.writeFileSync(file, grown);
      const after = samples(await registry.metrics());
      assert.equal(after.length, 3000);
      assert.ok(after.includes('hits_total{path="/p2999"} 2999.0'));
      assert.deepEqual(warnings, []);
    } finally {
      cleanup();
    }
  });

  it('a file replaced by another (rename over it) is read afresh', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'counter_1.db');
      fs.writeFileSync(file, currentLayoutFile([counterEntry('/a', 1), counterEntry('/b', 2)]));
      const { registry, warnings } = quietRegistry(dir);
      await registry.metrics();
      const replacement = path.join(dir, 'replacement.tmp');
      // Same length and layout, other keys: only a re-parse gets this right.
      fs.writeFileSync(replacement, currentLayoutFile([counterEntry('/x', 10), counterEntry('/y', 20)]));
      fs.renameSync(replacement, file);
      assert.deepEqual(samples(await registry.metrics()), ['hits_total{path="/x"} 10.0', 'hits_total{path="/y"} 20.0']);
      assert.deepEqual(warnings, []);
    } finally {
      cleanup();
    }
  });

  it('a file deleted and recreated under the same name (the inode may be reused) is read afresh', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'counter_1.db');
      fs.writeFileSync(file, currentLayoutFile([counterEntry('/a', 1), counterEntry('/b', 2)]));
      const { registry } = quietRegistry(dir);
      await registry.metrics();
      fs.unlinkSync(file);
      assert.deepEqual(samples(await registry.metrics()), [], 'a deleted file no longer contributes');
      fs.writeFileSync(file, currentLayoutFile([counterEntry('/q', 7), counterEntry('/r', 8)]));
      assert.deepEqual(samples(await registry.metrics()), ['hits_total{path="/q"} 7.0', 'hits_total{path="/r"} 8.0']);
    } finally {
      cleanup();
    }
  });

  it('a file that shrinks in place (truncated and rewritten, same inode) is read afresh without a crash', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'counter_1.db');
      fs.writeFileSync(file, currentLayoutFile(Array.from({ length: 3000 }, (_, i) => counterEntry(`/p${i}`, 1))));
      const { registry, warnings } = quietRegistry(dir);
      assert.equal(samples(await registry.metrics()).length, 3000);
      const inode = fs.statSync(file).ino;
      const fd = fs.openSync(file, 'r+');
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, currentLayoutFile([counterEntry('/only', 4)]), 0, undefined, 0);
      fs.closeSync(fd);
      assert.equal(fs.statSync(file).ino, inode);
      assert.deepEqual(samples(await registry.metrics()), ['hits_total{path="/only"} 4.0']);
      assert.deepEqual(warnings, []);
    } finally {
      cleanup();
    }
  });

  it('a file that turns corrupt is skipped and counted; once repaired it is read again', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const good = path.join(dir, 'counter_1.db');
      const flaky = path.join(dir, 'counter_2.db');
      fs.writeFileSync(good, currentLayoutFile([counterEntry('/a', 1)]));
      fs.writeFileSync(flaky, currentLayoutFile([counterEntry('/a', 2)]));
      const { registry, warnings } = quietRegistry(dir);
      assert.deepEqual(samples(await registry.metrics()), ['hits_total{path="/a"} 3.0']);
      // An appended entry whose key is not JSON.
      fs.writeFileSync(flaky, currentLayoutFile([counterEntry('/a', 2), { key: 'not json at all', value: 1 }]));
      const text = await registry.metrics();
      assert.deepEqual(samples(text), ['hits_total{path="/a"} 1.0']);
      assert.match(text, /^prom_multiproc_skipped_files_total 1\.0$/m);
      assert.equal(warnings.length, 1);
      assert.ok(warnings[0].includes(flaky) && warnings[0].includes('not valid JSON'), warnings[0]);
      fs.writeFileSync(flaky, currentLayoutFile([counterEntry('/a', 2), counterEntry('/b', 1)]));
      assert.deepEqual(samples(await registry.metrics()), ['hits_total{path="/a"} 3.0', 'hits_total{path="/b"} 1.0']);
    } finally {
      cleanup();
    }
  });

  it('over rounds of real writers, a long-lived registry exports exactly what a fresh one does', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { registry: longLived, warnings } = quietRegistry(dir);
      for (let round = 0; round < 4; round++) {
        for (const worker of ['w1', 'w2', 'w3']) {
          // Each round the worker restarts with the same id: it reopens its files and appends.
          const result = runSnippet(
            `lib.configure({ processId: '${worker}', clock: () => 1700000000 + ${round} });
            const c = new lib.Counter({ name: 'jobs', help: 'Jobs.', labelNames: ['kind'] });
            const h = new lib.Histogram({ name: 'lat', help: 'Lat.', labelNames: ['route'], buckets: [0.1, 1] });
            const g = new lib.Gauge({ name: 'last', help: 'Last.', labelNames: ['k'], multiprocessMode: 'mostrecent' });
            const a = new lib.Gauge({ name: 'each', help: 'Each.', multiprocessMode: 'all' });
            for (let i = 0; i < 50; i++) {
              c.inc({ kind: 'k' + ((i * ${round + 1}) % (5 + ${round * 7})) }, 1);
              h.observe({ route: '/r' + (i % (2 + ${round})) }, (i % 13) / 10);
            }
            g.set({ k: '${worker}-' + ${round} }, ${round});
            a.set(${round});`,
            { PROMETHEUS_MULTIPROC_DIR: dir },
          );
          assert.equal(result.status, 0, result.stderr);
          const fresh = await new MultiprocessRegistry({ dir }).metrics();
          assert.equal(await longLived.metrics(), fresh, `round ${round}, after ${worker}`);
        }
      }
      assert.deepEqual(warnings, []);
    } finally {
      cleanup();
    }
  });
});
