import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { Registry, Counter as PromCounter, Gauge as PromGauge, Histogram as PromHistogram } from 'prom-client';
import { MultiprocessRegistry, OPENMETRICS_CONTENT_TYPE } from '../src/index.js';
import { currentLayoutFile, pythonKey, type RawEntry } from './helpers/db-files.js';
import { parseExposition, seriesId, type Format } from './helpers/exposition-parser.js';
import { tempDir } from './helpers/fixtures.js';
import { skipUnlessInstalled } from './helpers/programs.js';
import { assertOpenMetricsParses, assertPromtoolParses } from './helpers/promtool.js';

// Two families whose exposed names meet (a counter `jobs`, whose sample is
// jobs_total, and a gauge `jobs_total`) cannot both be exported: parsers read
// the second one's lines as the first's. The family met first wins; files are
// read in sorted name order (counter_ < gauge_ < histogram_ < summary_).

type Files = Record<string, RawEntry[]>;

function entry(family: string, sampleName: string, labels: Record<string, string>, value: number): RawEntry {
  return { key: pythonKey(family, sampleName, labels, `Help of ${family}.`), value };
}

interface Scrape {
  text: Record<Format, string>;
  /** Every sample of the text format, `name{labels}` -> value. */
  samples: Map<string, string>;
  warnings: string[];
}

/** Scrapes `files` in both formats (twice, to see that a clash is logged once), checking each exposition strictly and with promtool. */
async function scrape(files: Files, registries: Registry[] = []): Promise<Scrape> {
  const { dir, cleanup } = tempDir('prom-multiproc-clash-');
  try {
    for (const [name, entries] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), currentLayoutFile(entries));
    const warnings: string[] = [];
    const registry = new MultiprocessRegistry({ dir, registries, logger: { warn: (m) => warnings.push(m) } });
    const prometheus = await registry.metrics();
    assert.equal(await registry.metrics(), prometheus);
    registry.setContentType(OPENMETRICS_CONTENT_TYPE);
    const openmetrics = await registry.metrics();
    const samples = new Map<string, string>();
    for (const family of parseExposition(prometheus, 'prometheus')) for (const s of family.samples) samples.set(seriesId(s), s.value);
    parseExposition(openmetrics, 'openmetrics');
    assertPromtoolParses(prometheus);
    assertOpenMetricsParses(openmetrics, dir);
    return { text: { prometheus, openmetrics }, samples, warnings };
  } finally {
    cleanup();
  }
}

describe('families whose exposed names meet', { skip: skipUnlessInstalled('promtool') }, () => {
  test('a counter jobs and a gauge jobs_total: the counter (read first) is served, the gauge ignored and reported once', async () => {
    const { samples, warnings, text } = await scrape({
      'counter_1.db': [entry('jobs', 'jobs_total', {}, 3)],
      'gauge_all_1.db': [entry('jobs_total', 'jobs_total', {}, 7)],
      'gauge_all_2.db': [entry('jobs_total', 'jobs_total', {}, 8)],
    });
    assert.equal(samples.get('jobs_total{}'), '3.0');
    assert.ok(![...samples.keys()].some((id) => id.startsWith('jobs_total{pid=')), [...samples.keys()].join('\n'));
    assert.match(text.prometheus, /^# TYPE jobs_total counter$/m);
    assert.doesNotMatch(text.prometheus, /gauge/);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /gauge_all_1\.db: the gauge family jobs_total would expose jobs_total, a name of the counter family jobs met first; its entries are ignored/);
  });

  test('a gauge lat_sum read before a histogram lat: the gauge is served, the histogram ignored', async () => {
    const { samples, warnings } = await scrape({
      'gauge_max_1.db': [entry('lat_sum', 'lat_sum', {}, 9)],
      'histogram_1.db': [entry('lat', 'lat_sum', {}, 1.5), entry('lat', 'lat_bucket', { le: '1.0' }, 1), entry('lat', 'lat_bucket', { le: '+Inf' }, 2)],
      'summary_1.db': [entry('lat_count', 'lat_count_count', {}, 1), entry('lat_count', 'lat_count_sum', {}, 2)],
    });
    // The histogram was not served, so its names stay free: the summary lat_count, which would meet its lat_count, is served.
    assert.deepEqual(
      [...samples].filter(([id]) => id.startsWith('lat')),
      [
        ['lat_count_sum{}', '2.0'],
        ['lat_count_count{}', '1.0'],
        ['lat_sum{}', '9.0'],
      ],
    );
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /histogram_1\.db: the histogram family lat would expose lat_sum, a name of the gauge family lat_sum met first; its entries are ignored/);
  });

  test('a family of the same name and another type, in two files: the first is served', async () => {
    const { samples, warnings } = await scrape({
      'counter_1.db': [entry('queue', 'queue_total', {}, 1)],
      'gauge_livesum_1.db': [entry('queue', 'queue', {}, 5)],
      'gauge_livesum_2.db': [entry('queue', 'queue', {}, 6)],
    });
    assert.equal(samples.get('queue_total{}'), '1.0');
    assert.equal(samples.get('queue{}'), undefined);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /gauge_livesum_1\.db: family queue is a gauge here but a counter in another file; its entries are ignored/);
  });

  test("the collector's own prom_multiproc_skipped_files keeps its names", async () => {
    const { samples, warnings } = await scrape({
      'counter_1.db': [entry('prom_multiproc_skipped_files', 'prom_multiproc_skipped_files_total', {}, 99), entry('fine', 'fine_total', {}, 1)],
      'gauge_all_1.db': [entry('prom_multiproc_skipped_files_total', 'prom_multiproc_skipped_files_total', {}, 98)],
    });
    assert.equal(samples.get('prom_multiproc_skipped_files_total{}'), '0.0');
    assert.equal(samples.get('fine_total{}'), '1.0');
    assert.equal(warnings.length, 2, warnings.join('\n'));
    for (const warning of warnings) assert.match(warning, /a name of the counter family prom_multiproc_skipped_files met first; its entries are ignored/);
  });

  test('families of registries served alongside: the files come first, then the registries in order', async () => {
    const first = new Registry();
    const second = new Registry();
    new PromGauge({ name: 'jobs_total', help: 'Clashes with the file counter jobs.', registers: [first] }).set(1);
    new PromGauge({ name: 'other', help: 'Served.', registers: [first] }).set(2);
    new PromCounter({ name: 'other_total', help: 'Clashes with the gauge other of the first registry.', registers: [second] }).inc(3);
    new PromHistogram({ name: 'own_seconds', help: 'Served.', buckets: [1], registers: [second] }).observe(0.5);
    new PromGauge({ name: 'own_seconds_count', help: 'Clashes with the histogram of the same registry.', registers: [second] }).set(4);
    new PromCounter({ name: 'prom_multiproc_skipped_files', help: "Clashes with the collector's own.", registers: [second] }).inc(5);
    const { samples, warnings } = await scrape({ 'counter_1.db': [entry('jobs', 'jobs_total', {}, 3)] }, [first, second]);
    assert.equal(samples.get('jobs_total{}'), '3.0');
    assert.equal(samples.get('other{}'), '2.0');
    assert.equal(samples.get('other_total{}'), undefined);
    assert.equal(samples.get('own_seconds_count{}'), '1.0');
    assert.equal(samples.get('prom_multiproc_skipped_files_total{}'), '0.0');
    assert.deepEqual(warnings.sort(), [
      'registry metric jobs_total: exposes jobs_total, a name of the counter family jobs served already; it is not served',
      'registry metric other: exposes other, a name of the gauge family other served already; it is not served',
      'registry metric own_seconds_count: exposes own_seconds_count, a name of the histogram family own_seconds served already; it is not served',
      'registry metric prom_multiproc_skipped_files: exposes prom_multiproc_skipped_files, a name of the counter family prom_multiproc_skipped_files served already; it is not served',
    ]);
  });
});
