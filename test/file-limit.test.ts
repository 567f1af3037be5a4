import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER_SIZE, MAX_USED, entrySize } from '../src/format/layout.js';
import { HeapBacking } from '../src/storage/backing.js';
import { EntryFile } from '../src/storage/entry-file.js';
import { SeriesStore } from '../src/storage/series-store.js';

test('the format addresses entries up to the largest 8-aligned signed 32-bit offset', () => {
  assert.equal(MAX_USED, 2 ** 31 - 8);
  assert.equal(MAX_USED % 8, 0);
});

test('a file that would pass the addressable size refuses new series, says so once, and keeps its series counting', () => {
  // The real limit is 2 GiB; the same code path with a 1 KiB limit, on a real store and file image.
  const limit = 1024;
  const warnings: string[] = [];
  const store = new SeriesStore('counter store of the test', () => new EntryFile(new HeapBacking(65536), undefined, limit), {
    warn: (message) => warnings.push(message),
  });
  const owner = { rebind: () => {} };
  const key = (i: number): string => `["c", "c_total", {"i": "${String(i).padStart(4, '0')}"}, "h"]`;
  const inFile: Array<{ slot: number }> = [];
  let refusedAt = -1;
  for (let i = 0; i < 100; i++) {
    const { region, slots } = store.allocate([key(i)], owner);
    if (region !== store.entryFile) {
      refusedAt = i;
      break;
    }
    inFile.push({ slot: slots[0] });
  }
  const perEntry = entrySize(Buffer.byteLength(key(0)));
  assert.equal(refusedAt, Math.floor((limit - HEADER_SIZE) / perEntry), 'as many series as fit below the limit');
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /would pass the 1024 bytes a multiprocess file can address.*new series of counter store of the test are refused .*existing series keep counting/);

  // Existing series still count in the file; more new ones are refused without another word.
  const file = store.entryFile!;
  for (const { slot } of inFile) file.values[slot] += 3;
  assert.deepEqual(
    inFile.map(({ slot }) => file.buffer.readDoubleLE(slot * 8)),
    inFile.map(() => 3),
  );
  for (let i = 200; i < 210; i++) assert.notEqual(store.allocate([key(i)], owner).region, file);
  assert.equal(store.pendingSeries, 11);
  assert.equal(store.retry(), false, 'no room appears: the format cannot address it');
  assert.equal(warnings.length, 1);
});
