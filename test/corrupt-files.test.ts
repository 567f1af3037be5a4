import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { MultiprocessRegistry } from '../src/index.js';
import { currentLayoutFile, entryOffsets, python016LayoutFile, pythonKey, type RawEntry } from './helpers/db-files.js';
import { FIXTURES, tempDir } from './helpers/fixtures.js';

/** A file Python wrote; every case puts it next to the damaged one. */
const GOOD_FILE = path.join(FIXTURES, 'counters', 'db', 'counter_101.db');
/** Another valid Python file, copied under names the collector must refuse. */
const OTHER_VALID_FILE = path.join(FIXTURES, 'counters', 'db', 'counter_102.db');

/** Worker 101's samples in fixtures/python-compat/counters/ops.json. */
const GOOD_SAMPLES = new Map<string, number>([
  ['http_requests_total{code="200",method="GET"}', 3.5],
  ['http_requests_total{code="500",method="POST"}', 1],
  ['jobs_total', 3],
]);

const SKIPPED_SAMPLE = 'prom_multiproc_skipped_files_total';

// The damaged files use the good file's series, so any of their entries that
// leaked into the merge would change a value the test checks.
const JOBS_KEY = pythonKey('jobs', 'jobs_total', {}, 'Jobs done.');
const GET_KEY = pythonKey('http_requests', 'http_requests_total', { code: '200', method: 'GET' }, 'HTTP requests served.');
const POST_KEY = pythonKey('http_requests', 'http_requests_total', { code: '500', method: 'POST' }, 'HTTP requests served.');
const READABLE_ENTRY: RawEntry = { key: JOBS_KEY, value: 100 };

interface CorruptCase {
  title: string;
  fileName: string;
  bytes: () => Buffer;
  /** What the logged reason must say. */
  reason: RegExp;
}

function threeEntryFile(): Buffer {
  return currentLayoutFile([
    { key: JOBS_KEY, value: 100 },
    { key: GET_KEY, value: 200 },
    { key: POST_KEY, value: 300 },
  ]);
}

function withBadKey(key: string | Buffer): Buffer {
  return currentLayoutFile([READABLE_ENTRY, { key, value: 5 }]);
}

const CASES: CorruptCase[] = [
  {
    title: 'an empty (0-byte) file',
    fileName: 'counter_2.db',
    bytes: () => Buffer.alloc(0),
    reason: /empty file \(0 bytes\)/,
  },
  {
    title: 'a file shorter than its header',
    fileName: 'counter_2.db',
    bytes: () => threeEntryFile().subarray(0, 5),
    reason: /shorter than the 8-byte header/,
  },
  {
    title: 'a file truncated in the middle of an entry',
    fileName: 'counter_2.db',
    bytes: () => {
      const full = threeEntryFile();
      return full.subarray(0, entryOffsets(full)[1] + 10);
    },
    reason: /header says \d+ bytes in use but the file has \d+/,
  },
  {
    title: 'a header whose used runs beyond the file size',
    fileName: 'counter_2.db',
    bytes: () => currentLayoutFile([READABLE_ENTRY], { fileSize: 65536, usedField: 65536 + 8 }),
    reason: /header says 65544 bytes in use but the file has 65536/,
  },
  {
    title: 'a header whose used ends inside an entry',
    fileName: 'counter_2.db',
    bytes: () => {
      const file = threeEntryFile();
      file.writeInt32LE(entryOffsets(file)[1] + 10, 0);
      return file;
    },
    reason: /runs past the \d+ bytes in use/,
  },
  {
    title: 'a negative key length',
    fileName: 'counter_2.db',
    bytes: () => currentLayoutFile([READABLE_ENTRY, { key: GET_KEY, value: 5, lengthField: -5 }]),
    reason: /bad key length -5/,
  },
  {
    title: 'a huge key length',
    fileName: 'counter_2.db',
    bytes: () => currentLayoutFile([READABLE_ENTRY, { key: GET_KEY, value: 5, lengthField: 0x7fffffff }]),
    reason: /runs past the \d+ bytes in use/,
  },
  {
    title: 'a key that is not valid UTF-8',
    fileName: 'counter_2.db',
    bytes: () =>
      withBadKey(
        Buffer.concat([
          Buffer.from('["http_requests", "http_requests_total", {"code": "'),
          Buffer.from([0xff, 0xfe]),
          Buffer.from('", "method": "GET"}, "HTTP requests served."]'),
        ]),
      ),
    reason: /key is not valid UTF-8/,
  },
  {
    title: 'a key that is not valid JSON',
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["jobs", "jobs_total", {}, "Jobs done."'),
    reason: /key is not valid JSON/,
  },
  {
    title: 'a key that is a 3-item array (pre-0.16 Python)',
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["jobs_total", {}, "Jobs done."]'),
    reason: /4-item array/,
  },
  {
    title: 'an unknown prefix (foo_1.db)',
    fileName: 'foo_1.db',
    bytes: () => fs.readFileSync(OTHER_VALID_FILE),
    reason: /not a metrics file name/,
  },
  {
    title: 'an unknown gauge mode (gauge_weird_1.db)',
    fileName: 'gauge_weird_1.db',
    bytes: () => fs.readFileSync(OTHER_VALID_FILE),
    reason: /not a metrics file name/,
  },
  {
    title: "Python 0.16's layout (8-byte value slots), one entry",
    fileName: 'counter_2.db',
    bytes: () => python016LayoutFile([{ key: JOBS_KEY, value: 7 }]),
    reason: /runs past the \d+ bytes in use/,
  },
  {
    title: "Python 0.16's layout (8-byte value slots), three entries",
    fileName: 'counter_2.db',
    bytes: () =>
      python016LayoutFile([
        { key: JOBS_KEY, value: 7 },
        { key: GET_KEY, value: 11 },
        { key: POST_KEY, value: 13 },
      ]),
    reason: /runs past the \d+ bytes in use/,
  },
];

/** The sample lines of a text exposition, `name{labels}` -> value. */
function samplesOf(exposition: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const series = line.slice(0, space);
    assert.ok(!samples.has(series), `series ${series} exported twice in:\n${exposition}`);
    samples.set(series, Number(line.slice(space + 1)));
  }
  return samples;
}

function splitSelfMetric(exposition: string): { merged: Map<string, number>; skipped: number | undefined } {
  const merged = samplesOf(exposition);
  const skipped = merged.get(SKIPPED_SAMPLE);
  merged.delete(SKIPPED_SAMPLE);
  return { merged, skipped };
}

function directoryWithGoodFile(): { dir: string; cleanup: () => void } {
  const temp = tempDir('prom-multiproc-corrupt-');
  fs.copyFileSync(GOOD_FILE, path.join(temp.dir, path.basename(GOOD_FILE)));
  return temp;
}

describe('corrupt files in the multiprocess directory', () => {
  test('control: the good file alone is exported and nothing is skipped or logged', async (t) => {
    const { dir, cleanup } = directoryWithGoodFile();
    t.after(cleanup);
    const warnings: string[] = [];
    const registry = new MultiprocessRegistry({ dir, logger: { warn: (message) => warnings.push(message) } });
    const { merged, skipped } = splitSelfMetric(await registry.metrics());
    assert.deepEqual(merged, GOOD_SAMPLES);
    assert.equal(skipped, 0);
    assert.deepEqual(warnings, []);
  });

  for (const corrupt of CASES) {
    test(`${corrupt.title}: skipped, counted at every scrape, logged once`, async (t) => {
      const { dir, cleanup } = directoryWithGoodFile();
      t.after(cleanup);
      const badPath = path.join(dir, corrupt.fileName);
      fs.writeFileSync(badPath, corrupt.bytes());
      const warnings: string[] = [];
      const registry = new MultiprocessRegistry({ dir, logger: { warn: (message) => warnings.push(message) } });

      for (const scrape of [1, 2]) {
        const exposition = await registry.metrics();
        const { merged, skipped } = splitSelfMetric(exposition);
        assert.deepEqual(merged, GOOD_SAMPLES, `scrape ${scrape}: the good file's samples, and nothing from ${corrupt.fileName}:\n${exposition}`);
        assert.equal(skipped, scrape, `scrape ${scrape}: ${SKIPPED_SAMPLE} in:\n${exposition}`);
      }

      assert.equal(warnings.length, 1, `one warning for ${badPath}, got:\n${warnings.join('\n')}`);
      assert.ok(warnings[0].includes(badPath), `the warning names ${badPath}: ${warnings[0]}`);
      assert.match(warnings[0], corrupt.reason);
    });
  }

  test('two damaged files are counted and logged separately', async (t) => {
    const { dir, cleanup } = directoryWithGoodFile();
    t.after(cleanup);
    const empty = path.join(dir, 'counter_2.db');
    const unknown = path.join(dir, 'foo_1.db');
    fs.writeFileSync(empty, Buffer.alloc(0));
    fs.copyFileSync(OTHER_VALID_FILE, unknown);
    const warnings: string[] = [];
    const registry = new MultiprocessRegistry({ dir, logger: { warn: (message) => warnings.push(message) } });
    await registry.metrics();
    const { merged, skipped } = splitSelfMetric(await registry.metrics());
    assert.deepEqual(merged, GOOD_SAMPLES);
    assert.equal(skipped, 4);
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.ok(warnings.some((w) => w.includes(empty)) && warnings.some((w) => w.includes(unknown)), warnings.join('\n'));
  });

  // The collector resumes a file where the previous scrape stopped; damage
  // that appears after a good scrape must still make it skip the file.
  for (const damage of [
    {
      title: 'an entry with a bad key appended in place',
      apply: (file: string) => {
        const grown = currentLayoutFile([
          { key: JOBS_KEY, value: 100 },
          { key: '["jobs", "jobs_total", {}, "Jobs done."', value: 5 },
        ]);
        const fd = fs.openSync(file, 'r+');
        try {
          fs.writeSync(fd, grown, 0, grown.length, 0);
        } finally {
          fs.closeSync(fd);
        }
      },
      reason: /key is not valid JSON/,
    },
    { title: 'truncated to 0 bytes in place', apply: (file: string) => fs.truncateSync(file, 0), reason: /empty file/ },
    { title: 'truncated inside its entries in place', apply: (file: string) => fs.truncateSync(file, 20), reason: /header says \d+ bytes in use/ },
  ]) {
    test(`a file read at one scrape and then ${damage.title} is skipped at the next`, async (t) => {
      const { dir, cleanup } = directoryWithGoodFile();
      t.after(cleanup);
      const laterBad = path.join(dir, 'counter_2.db');
      fs.writeFileSync(laterBad, currentLayoutFile([{ key: JOBS_KEY, value: 100 }]));
      const warnings: string[] = [];
      const registry = new MultiprocessRegistry({ dir, logger: { warn: (message) => warnings.push(message) } });
      const first = splitSelfMetric(await registry.metrics());
      assert.equal(first.merged.get('jobs_total'), 103);
      assert.equal(first.skipped, 0);

      damage.apply(laterBad);
      const { merged, skipped } = splitSelfMetric(await registry.metrics());
      assert.deepEqual(merged, GOOD_SAMPLES, `nothing of ${laterBad} is exported once it is damaged`);
      assert.equal(skipped, 1);
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.ok(warnings[0].includes(laterBad), warnings[0]);
      assert.match(warnings[0], damage.reason);
    });
  }

  test('a file repaired between scrapes is merged again and no longer counted', async (t) => {
    const { dir, cleanup } = directoryWithGoodFile();
    t.after(cleanup);
    const badPath = path.join(dir, 'counter_2.db');
    fs.writeFileSync(badPath, Buffer.alloc(0));
    const warnings: string[] = [];
    const registry = new MultiprocessRegistry({ dir, logger: { warn: (message) => warnings.push(message) } });
    assert.equal(splitSelfMetric(await registry.metrics()).skipped, 1);

    fs.writeFileSync(badPath, currentLayoutFile([{ key: JOBS_KEY, value: 100 }]));
    const { merged, skipped } = splitSelfMetric(await registry.metrics());
    assert.equal(merged.get('jobs_total'), 103);
    assert.equal(skipped, 1, 'the counter keeps its earlier skips and adds none');
    assert.equal(warnings.length, 1, warnings.join('\n'));
  });
});
