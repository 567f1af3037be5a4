import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { MultiprocessRegistry, Registry } from '../src/index.js';
import { currentLayoutFile, entryOffsets, python016LayoutFile, pythonKey, type RawEntry } from './helpers/db-files.js';
import { FIXTURES, tempDir } from './helpers/fixtures.js';
import { decodeFamilies, type DecodedHistogram } from './helpers/protobuf-decode.js';

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
    title: 'a label value that is not a string',
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["http_requests", "http_requests_total", {"code": 200, "method": "GET"}, "HTTP requests served."]'),
    reason: /value of label code of http_requests_total is not a string/,
  },
  // Names decoded from a key end up on exposition lines: one that breaks Prometheus' rules would make
  // the whole exposition unparsable, every good sample lost with it.
  {
    title: 'a sample name with a space',
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["jobs", "jobs total", {}, "Jobs done."]'),
    reason: /sample name "jobs total" is not a valid metric name/,
  },
  {
    title: 'a family name with a space',
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["jo bs", "jo bs_total", {}, "Jobs done."]'),
    reason: /family name "jo bs" is not a valid metric name/,
  },
  {
    title: 'a family name starting with a digit',
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["1jobs", "1jobs_total", {}, "Jobs done."]'),
    reason: /family name "1jobs" is not a valid metric name/,
  },
  {
    title: 'a label name with a dash',
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["http_requests", "http_requests_total", {"co-de": "200", "method": "GET"}, "HTTP requests served."]'),
    reason: /label name "co-de" of http_requests_total is not a valid label name/,
  },
  {
    title: 'a label name reserved for Prometheus (__name__)',
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["http_requests", "http_requests_total", {"__name__": "x", "method": "GET"}, "HTTP requests served."]'),
    reason: /label name "__name__" of http_requests_total is not a valid label name/,
  },
  {
    title: 'an empty label name',
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["http_requests", "http_requests_total", {"": "200"}, "HTTP requests served."]'),
    reason: /label name "" of http_requests_total is not a valid label name/,
  },
  {
    title: "a counter's sample with another type's suffix",
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["jobs", "jobs_count", {}, "Jobs done."]'),
    reason: /sample name "jobs_count" does not belong to the counter family jobs \(expected "jobs_total" or "jobs"\)/,
  },
  {
    title: "a counter's sample of another family",
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["jobs", "other_total", {}, "Jobs done."]'),
    reason: /sample name "other_total" does not belong to the counter family jobs/,
  },
  {
    title: "a gauge's sample with a suffix",
    fileName: 'gauge_all_2.db',
    bytes: () => currentLayoutFile([{ key: '["depth", "depth", {}, "Depth."]', value: 1 }, { key: '["depth", "depth_total", {}, "Depth."]', value: 1 }]),
    reason: /sample name "depth_total" does not belong to the gauge family depth \(expected "depth"\)/,
  },
  {
    title: "a histogram's bucket without le",
    fileName: 'histogram_2.db',
    bytes: () => currentLayoutFile([{ key: '["lat", "lat_sum", {}, "Latency."]', value: 1 }, { key: '["lat", "lat_bucket", {}, "Latency."]', value: 1 }]),
    reason: /histogram bucket lat_bucket has no "le" label/,
  },
  {
    title: "a histogram's bucket whose le is not a number",
    fileName: 'histogram_2.db',
    bytes: () => currentLayoutFile([{ key: '["lat", "lat_sum", {}, "Latency."]', value: 1 }, { key: '["lat", "lat_bucket", {"le": "0.5x"}, "Latency."]', value: 1 }]),
    reason: /histogram bucket lat_bucket has le="0.5x", not a number or ±Inf/,
  },
  {
    title: "a histogram's _sum with an le label",
    fileName: 'histogram_2.db',
    bytes: () => currentLayoutFile([{ key: '["lat", "lat_sum", {"le": "1.0"}, "Latency."]', value: 1 }]),
    reason: /histogram sample lat_sum has an "le" label/,
  },
  {
    title: "a histogram's _count (Python never stores it)",
    fileName: 'histogram_2.db',
    bytes: () => currentLayoutFile([{ key: '["lat", "lat_sum", {}, "Latency."]', value: 1 }, { key: '["lat", "lat_count", {}, "Latency."]', value: 1 }]),
    reason: /sample name "lat_count" does not belong to the histogram family lat \(expected "lat_sum" or "lat_bucket"\)/,
  },
  {
    title: 'a summary with a quantile label',
    fileName: 'summary_2.db',
    bytes: () => currentLayoutFile([{ key: '["took", "took_count", {}, "Took."]', value: 1 }, { key: '["took", "took_sum", {"quantile": "0.5"}, "Took."]', value: 1 }]),
    reason: /summary sample took_sum has a "quantile" label \(.db files hold no quantiles/,
  },
  // JSON.parse turns a \ud800 escape into a lone surrogate, which has no UTF-8 form: written out it
  // would become U+FFFD, and two different values one series.
  {
    title: 'a label value with a lone surrogate',
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["http_requests", "http_requests_total", {"code": "2\\ud800", "method": "GET"}, "HTTP requests served."]'),
    reason: /value "2\\ud800" of label code of http_requests_total holds a lone surrogate/,
  },
  {
    title: 'a label value with a lone low surrogate after a whole pair',
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["http_requests", "http_requests_total", {"code": "\\ud83d\\ude80\\ude80", "method": "GET"}, "HTTP requests served."]'),
    reason: /of label code of http_requests_total holds a lone surrogate/,
  },
  {
    title: 'help text with a lone surrogate',
    fileName: 'counter_2.db',
    bytes: () => withBadKey('["jobs", "jobs_total", {}, "Jobs \\udfff done."]'),
    reason: /help text of jobs holds a lone surrogate/,
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
    title: 'a native bucket file (.nhdb) holding a classic entry',
    fileName: 'histogram_2.nhdb',
    bytes: () => currentLayoutFile([READABLE_ENTRY]),
    reason: /"jobs_total" names no native histogram bucket/,
  },
  {
    title: 'a native bucket of a schema past 8',
    fileName: 'histogram_2.nhdb',
    bytes: () => currentLayoutFile([{ key: pythonKey('jobs', 'pos:3:1', {}, ''), value: 1 }, { key: pythonKey('jobs', 'pos:9:1', {}, ''), value: 1 }]),
    reason: /"pos:9:1" names no native histogram bucket/,
  },
  {
    title: 'a native bucket with an le label',
    fileName: 'histogram_2.nhdb',
    bytes: () => currentLayoutFile([{ key: pythonKey('jobs', 'zero:3:0', { le: '1.0' }, ''), value: 1 }]),
    reason: /native histogram bucket of jobs has an "le" label/,
  },
  {
    title: 'a native bucket file of another prefix (counter_1.nhdb)',
    fileName: 'counter_1.nhdb',
    bytes: () => currentLayoutFile([{ key: pythonKey('jobs', 'pos:3:1', {}, ''), value: 1 }]),
    reason: /not a metrics file name/,
  },
  {
    title: 'a summary quantile file (summary_<id>.nhdb) holding a native histogram zero bucket',
    fileName: 'summary_2.nhdb',
    bytes: () => currentLayoutFile([{ key: pythonKey('lat', 'window:0:0:0.5', {}, ''), value: 0 }, { key: pythonKey('lat', 'zero:3:0', {}, ''), value: 1 }]),
    reason: /"zero:3:0" names no summary window or bucket/,
  },
  {
    title: 'a summary quantile bucket with a quantile label',
    fileName: 'summary_2.nhdb',
    bytes: () => currentLayoutFile([{ key: pythonKey('lat', 'pos:0:12', { quantile: '0.5' }, ''), value: 1 }]),
    reason: /summary bucket of lat has a "quantile" label/,
  },
  {
    title: 'a summary window whose percentile is past 1',
    fileName: 'summary_2.nhdb',
    bytes: () => currentLayoutFile([{ key: pythonKey('lat', 'window:60:5:0.5,1.5', {}, ''), value: 0 }]),
    reason: /"window:60:5:0.5,1.5" names no summary window or bucket/,
  },
  {
    title: 'a summary quantile bucket past the last of finite values (its quantile would be +Inf)',
    fileName: 'summary_2.nhdb',
    bytes: () => currentLayoutFile([{ key: pythonKey('lat', 'window:0:0:0.5', {}, ''), value: 0 }, { key: pythonKey('lat', 'pos:0:32769', {}, ''), value: 1 }]),
    reason: /"pos:0:32769" names no summary window or bucket/,
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
  test('an le or quantile label outside a histogram or summary is ordinary, as Python and prom-client allow: served', async (t) => {
    const { dir, cleanup } = directoryWithGoodFile();
    t.after(cleanup);
    fs.writeFileSync(
      path.join(dir, 'counter_2.db'),
      currentLayoutFile([
        { key: pythonKey('limits', 'limits_total', { le: '1.0' }, 'Limits.'), value: 2 },
        { key: pythonKey('limits', 'limits_total', { quantile: '0.5' }, 'Limits.'), value: 3 },
      ]),
    );
    const warnings: string[] = [];
    const registry = new MultiprocessRegistry({ dir, logger: { warn: (message) => warnings.push(message) } });
    const { merged, skipped } = splitSelfMetric(await registry.metrics());
    assert.deepEqual(merged, new Map([...GOOD_SAMPLES, ['limits_total{le="1.0"}', 2], ['limits_total{quantile="0.5"}', 3]]));
    assert.equal(skipped, 0);
    assert.deepEqual(warnings, []);
  });

  test("a counter's sample named by its family alone (a counter declared without _total, prom-client's naming) is read, and is one series with Python's _total", async (t) => {
    const { dir, cleanup } = directoryWithGoodFile();
    t.after(cleanup);
    fs.writeFileSync(path.join(dir, 'counter_2.db'), currentLayoutFile([{ key: pythonKey('jobs', 'jobs', {}, 'Jobs done.'), value: 5 }]));
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message) };
    const withoutJobs = [...GOOD_SAMPLES].filter(([series]) => series !== 'jobs_total');
    // prom-client's naming: the family is exported as its bare counters are named.
    const bare = await new MultiprocessRegistry({ dir, logger }).metrics();
    assert.match(bare, /^# TYPE jobs counter$/m);
    assert.deepEqual(splitSelfMetric(bare), { merged: new Map([...withoutJobs, ['jobs', 8]]), skipped: 0 });
    // Python's naming: <family>_total, as Python exports it.
    const python = await new MultiprocessRegistry({ dir, logger, naming: 'python' }).metrics();
    assert.match(python, /^# TYPE jobs_total counter$/m);
    assert.deepEqual(splitSelfMetric(python), { merged: new Map([...withoutJobs, ['jobs_total', 8]]), skipped: 0 });
    assert.deepEqual(warnings, []);
  });

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

      // Native bucket files are read by the scrapes that export them (protobuf, collect()), not by text scrapes.
      const native = /^histogram_[^_]+\.nhdb$/.test(corrupt.fileName);
      for (const scrape of [1, 2]) {
        if (native) await registry.collect();
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

  test('a text scrape does not read native bucket files: a damaged one is reported by the scrapes that export them', async (t) => {
    const { dir, cleanup } = directoryWithGoodFile();
    t.after(cleanup);
    fs.writeFileSync(path.join(dir, 'histogram_2.nhdb'), currentLayoutFile([READABLE_ENTRY]));
    const warnings: string[] = [];
    const registry = new MultiprocessRegistry({ dir, logger: { warn: (message) => warnings.push(message) } });
    assert.deepEqual(splitSelfMetric(await registry.metrics()), { merged: GOOD_SAMPLES, skipped: 0 });
    assert.deepEqual(warnings, []);
    registry.setContentType(MultiprocessRegistry.PROMETHEUS_PROTOBUF_CONTENT_TYPE as never);
    await registry.metrics();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /histogram_2\.nhdb.*names no native histogram bucket/);
  });

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

  const manyKeys = Array.from({ length: 1500 }, (_, i) => pythonKey('hits', 'hits_total', { path: `/p${i}` }, 'Hits.'));
  // A skipped file is read up to its bad entry; nothing of what came before may stay: not its
  // families (which would take the type, HELP text and names of the good files' ones), nor its series.
  for (const leftover of [
    {
      title: "its family's HELP text",
      badKey: pythonKey('jobs', 'jobs_total', {}, 'Help of a skipped file.'),
      good: { name: 'counter_101.db', bytes: () => fs.readFileSync(GOOD_FILE) },
    },
    {
      title: "its family's type",
      badKey: pythonKey('inflight', 'inflight_total', {}, 'A counter in a skipped file.'),
      good: { name: 'gauge_livesum_301.db', bytes: () => fs.readFileSync(path.join(FIXTURES, 'gauge-incdec', 'db', 'gauge_livesum_301.db')) },
    },
    {
      title: "its family's exposed names",
      badKey: pythonKey('jobs', 'jobs_total', {}, 'A counter in a skipped file.'),
      good: { name: 'gauge_all_5.db', bytes: () => currentLayoutFile([{ key: pythonKey('jobs_total', 'jobs_total', {}, 'A gauge.'), value: 4 }]) },
    },
    {
      // The good file's own keys, enough of them that the key table grows while the bad file is read.
      title: 'its keys and series',
      badKeys: manyKeys,
      good: { name: 'counter_101.db', bytes: () => currentLayoutFile(manyKeys.map((key, i) => ({ key, value: i }))) },
    },
  ]) {
    test(`a file skipped at a bad entry leaves nothing behind: ${leftover.title}`, async (t) => {
      const { dir, cleanup } = tempDir('prom-multiproc-corrupt-');
      t.after(cleanup);
      const alone = tempDir('prom-multiproc-corrupt-');
      t.after(alone.cleanup);
      fs.writeFileSync(path.join(alone.dir, leftover.good.name), leftover.good.bytes());
      fs.writeFileSync(path.join(dir, leftover.good.name), leftover.good.bytes());
      // counter_1.db sorts before the good file: it is read first.
      const readable = (leftover.badKeys ?? [leftover.badKey!]).map((key) => ({ key, value: 1000 }));
      fs.writeFileSync(path.join(dir, 'counter_1.db'), currentLayoutFile([...readable, { key: 'not json', value: 1 }]));
      const warnings: string[] = [];
      const registry = new MultiprocessRegistry({ dir, logger: { warn: (message) => warnings.push(message) } });
      const withoutSelf = (exposition: string): string => exposition.replace(/^.*prom_multiproc_skipped_files.*\n/gm, '');
      const expected = withoutSelf(await new MultiprocessRegistry({ dir: alone.dir }).metrics());
      assert.ok(expected.length > 0);
      for (const scrape of [1, 2]) {
        const text = await registry.metrics();
        assert.equal(withoutSelf(text), expected, `scrape ${scrape}: exactly what the good file exports alone`);
        assert.match(text, new RegExp(`^${SKIPPED_SAMPLE} ${scrape}\\.0$`, 'm'));
      }
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0], /counter_1\.db: skipped: key is not valid JSON/);
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

describe('bucket values in .nhdb files that are no counts', () => {
  const LAT_HELP = 'Latency.';
  const classicHistogram = (count: number): Buffer =>
    currentLayoutFile([
      { key: pythonKey('lat', 'lat_sum', {}, LAT_HELP), value: count },
      { key: pythonKey('lat', 'lat_bucket', { le: '1.0' }, LAT_HELP), value: count },
      { key: pythonKey('lat', 'lat_bucket', { le: '+Inf' }, LAT_HELP), value: 0 },
    ]);
  const protobufHistogram = async (dir: string): Promise<DecodedHistogram> => {
    const registry = new MultiprocessRegistry({ dir, compactThreshold: 0, contentType: Registry.PROMETHEUS_PROTOBUF_CONTENT_TYPE });
    const families = decodeFamilies(await registry.metrics());
    registry.close();
    const histogram = families.find((f) => f.name === 'lat')?.metric?.[0]?.histogram;
    assert.ok(histogram, JSON.stringify(families));
    return histogram;
  };

  test('NaN, infinite, negative, fractional and past-2^53 native counts count 0: the count is the sum of the buckets Prometheus reads, none negative', async (t) => {
    const { dir, cleanup } = tempDir('prom-multiproc-corrupt-');
    t.after(cleanup);
    fs.writeFileSync(path.join(dir, 'histogram_1.db'), classicHistogram(2));
    const bucket = (name: string, value: number): RawEntry => ({ key: pythonKey('lat', name, {}, ''), value });
    fs.writeFileSync(
      path.join(dir, 'histogram_1.nhdb'),
      currentLayoutFile([bucket('zero:3:0', NaN), bucket('pos:3:0', 2), bucket('pos:3:8', -1), bucket('pos:3:16', Infinity), bucket('pos:3:24', 2 ** 53 + 2), bucket('neg:3:0', 0.5)]),
    );
    fs.writeFileSync(path.join(dir, 'histogram_2.nhdb'), currentLayoutFile([bucket('zero:3:0', -5), bucket('pos:3:0', NaN)]));
    const histogram = await protobufHistogram(dir);
    assert.deepEqual(
      { count: histogram.sampleCount, zero: histogram.zeroCount, spans: histogram.positiveSpan, deltas: histogram.positiveDelta, negative: histogram.negativeSpan },
      { count: 2, zero: 0, spans: [{ offset: 0, length: 1 }], deltas: [2], negative: undefined },
    );
  });

  test('whole counts whose sum passes 2^53 go as a float histogram: the int64 sum of deltas between them would not be the count', async (t) => {
    const { dir, cleanup } = tempDir('prom-multiproc-corrupt-');
    t.after(cleanup);
    fs.writeFileSync(path.join(dir, 'histogram_1.db'), classicHistogram(2));
    // 3 * (2^53 - 1) is no double: as an integer histogram, sample_count would be 3 * 2^53 - 4, the deltas would add up to 3 * 2^53 - 3.
    const big = 2 ** 53 - 1;
    fs.writeFileSync(
      path.join(dir, 'histogram_1.nhdb'),
      currentLayoutFile([{ key: pythonKey('lat', 'zero:3:0', {}, ''), value: 0 }, ...[0, 1, 2].map((index) => ({ key: pythonKey('lat', `pos:3:${index}`, {}, ''), value: big }))]),
    );
    const histogram = await protobufHistogram(dir);
    assert.deepEqual(
      { count: histogram.sampleCount, countFloat: histogram.sampleCountFloat, zero: histogram.zeroCount, zeroFloat: histogram.zeroCountFloat, deltas: histogram.positiveDelta, counts: histogram.positiveCount },
      { count: undefined, countFloat: 3 * big, zero: undefined, zeroFloat: 0, deltas: undefined, counts: [big, big, big] },
    );
  });

  test('an infinite summary bucket count is left out: the quantiles are those of the counts that are counts', async (t) => {
    const { dir, cleanup } = tempDir('prom-multiproc-corrupt-');
    t.after(cleanup);
    fs.writeFileSync(
      path.join(dir, 'summary_1.db'),
      currentLayoutFile([
        { key: pythonKey('lat', 'lat_count', {}, LAT_HELP), value: 1 },
        { key: pythonKey('lat', 'lat_sum', {}, LAT_HELP), value: 1 },
      ]),
    );
    const entry = (name: string, value: number): RawEntry => ({ key: pythonKey('lat', name, {}, ''), value });
    // One observation of 1 (bucket 0 at schema 5) and a count of Infinity in the bucket of 4 (64).
    fs.writeFileSync(path.join(dir, 'summary_1.nhdb'), currentLayoutFile([entry('window:0:0:0,0.5,1', 0), entry('min:0', 1), entry('max:0', 4), entry('pos:0:0', 1), entry('pos:0:64', Infinity)]));
    const samples = samplesOf(await new MultiprocessRegistry({ dir, compactThreshold: 0 }).metrics());
    assert.deepEqual(
      ['0', '0.5', '1'].map((q) => samples.get(`lat{quantile="${q}"}`)),
      [1, 1, 1],
    );
  });
});

test('a summary window naming a percentile twice (prom-client allows it) exports that quantile once: the exposition stays valid', async (t) => {
  const { dir, cleanup } = tempDir('prom-multiproc-corrupt-');
  t.after(cleanup);
  fs.writeFileSync(
    path.join(dir, 'summary_1.db'),
    currentLayoutFile([
      { key: pythonKey('lat', 'lat_count', {}, 'Latency.'), value: 1 },
      { key: pythonKey('lat', 'lat_sum', {}, 'Latency.'), value: 1 },
    ]),
  );
  const entry = (name: string, value: number): RawEntry => ({ key: pythonKey('lat', name, {}, ''), value });
  fs.writeFileSync(path.join(dir, 'summary_1.nhdb'), currentLayoutFile([entry('window:0:0:0.5,0.5,1,0.5', 0), entry('pos:0:0', 1)]));
  const text = await new MultiprocessRegistry({ dir, compactThreshold: 0 }).metrics();
  assert.deepEqual(
    text.split('\n').filter((line) => line.startsWith('lat{')),
    ['lat{quantile="0.5"} 0.9891699987466264', 'lat{quantile="1"} 0.9891699987466264'],
  );
});
