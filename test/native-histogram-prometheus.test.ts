// A real Prometheus 2.42 (Debian's), native histograms on, scraping the
// exporter of a directory where forked writers at schemas 3, 0 and 7 (bucket
// factors 1.1, 2 and 1.01) observed known values, one of them SIGKILLed: it
// asks for protobuf first, and its histogram_count, histogram_sum and
// histogram_quantile over the scraped series are those of the union of all
// observations (the quantile inside the bucket of the exact one, at the
// schema the series was merged at). While it scrapes, the writers die (one
// SIGKILLed, one exiting) and their files are compacted: increase() over
// that stretch, with no observation in it, is 0 (no false reset). Exemplar
// storage on too: a counter's exemplar, written by another forked writer,
// arrives through protobuf.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compact, startExporter, type Exporter } from '../src/index.js';
import { bucketIndex, bucketUpperBound } from '../src/format/native-histogram.js';
import { killQuietly } from './helpers/examples-processes.js';
import { pollUntil, startPrometheus, type PrometheusServer } from './helpers/examples-prometheus.js';
import { tempDir } from './helpers/fixtures.js';
import { request } from './helpers/http.js';
import { startIpcWriter, type IpcWriter } from './helpers/ipc-writer.js';
import { valuesAroundBounds } from './helpers/native-reference.js';
import type { NativeCommand } from './helpers/native-worker.js';
import type { ExemplarCommand } from './helpers/exemplar-worker.js';
import { skipUnlessInstalled } from './helpers/programs.js';

const WORKER = path.join(__dirname, 'helpers', 'native-worker.ts');
const JOB = 'native-histograms';
/** What Prometheus 2.42 sends with --enable-feature=native-histograms (its scrapeAcceptHeaderWithProtobuf). */
const PROMETHEUS_2_42_ACCEPT =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

function startWriter(dir: string, id: string, factor: number): Promise<IpcWriter<NativeCommand>> {
  return startIpcWriter<NativeCommand>(WORKER, { PROMETHEUS_MULTIPROC_DIR: dir, NATIVE_PROCESS_ID: id, NATIVE_FACTOR: String(factor), NATIVE_TIMEOUT_MS: '2000' });
}

/** `count` values spread over `decades` decades from `from`, deterministic. */
function spread(count: number, from: number, decades: number, seed: number): number[] {
  return Array.from({ length: count }, (_, i) => from * 10 ** (decades * ((Math.sin(seed * 7919 + i) + 1) / 2)));
}

/** The exact q-quantile of `values` as a rank: the value Prometheus' walk over the buckets stops in. */
function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

/** [lower, upper] of the bucket holding `value` (> 0) at `schema`. */
function bucketAround(value: number, schema: number): [number, number] {
  const index = bucketIndex(value, schema);
  return [bucketUpperBound(index - 1, schema), bucketUpperBound(index, schema)];
}

/** Route a: every writer, zero, negatives and values on and around bounds; merged at schema 0. Route p: positive only, from the schema 3 and 7 writers; merged at schema 3. */
const observed = {
  a: {
    w3: [0, 0, 1e-45, -2, 0.003, 0.25, 1, 1, 7.5, ...spread(200, 0.001, 5, 1), ...valuesAroundBounds(3, -20, 20, 5)],
    w0: [0, 0.5, 1, 2, 4, 3, -3, 1e9, ...spread(150, 0.01, 3, 2)],
    w7: [1e-7, 0.001, 0.01, 0.0101, 0.1, 1.5, 42, -42, ...spread(250, 0.1, 2, 3)],
  },
  p: {
    w3: spread(300, 0.002, 4, 4),
    w7: spread(300, 0.05, 2, 5),
  },
};

describe('a real Prometheus 2.42 scraping native histograms as protobuf', { skip: skipUnlessInstalled('prometheus') }, () => {
  let work: { dir: string; cleanup: () => void };
  let dir: string;
  let exporter: Exporter;
  let prometheus: PrometheusServer;
  const writers: Array<IpcWriter<NativeCommand | ExemplarCommand>> = [];
  const accepts: string[] = [];
  const warnings: string[] = [];

  before(async () => {
    work = tempDir('prom-multiproc-native-prometheus-');
    dir = path.join(work.dir, 'metrics');
    fs.mkdirSync(dir);
    const w3 = await startWriter(dir, 'w3', 1.1);
    const w0 = await startWriter(dir, 'w0', 2);
    const w7 = await startWriter(dir, 'w7', 1.01);
    writers.push(w3, w0, w7);
    await w3.send({ op: 'observe', route: 'a', values: observed.a.w3 });
    await w0.send({ op: 'observe', route: 'a', values: observed.a.w0 });
    await w7.send({ op: 'observe', route: 'a', values: observed.a.w7 });
    await w3.send({ op: 'observe', route: 'p', values: observed.p.w3 });
    await w7.send({ op: 'observe', route: 'p', values: observed.p.w7 });
    // Its counts stay in its files: the scrapes read a dead writer's values.
    await w7.kill();
    const traced = await startIpcWriter<ExemplarCommand>(path.join(__dirname, 'helpers', 'exemplar-worker.ts'), { PROMETHEUS_MULTIPROC_DIR: dir, EXEMPLAR_PROCESS_ID: 'ex', EXEMPLAR_TIMEOUT_MS: '2000' });
    writers.push(traced as IpcWriter<NativeCommand | ExemplarCommand>);
    await traced.send({ op: 'inc', route: '/x', value: 2, trace: '4bf92f3577b34da6a3ce929d0e0e4736' });
    exporter = await startExporter({ dir, port: 0, compactThreshold: 0, logger: { warn: (message) => warnings.push(message) } });
    exporter.server.on('request', (req) => accepts.push(String(req.headers.accept)));
    prometheus = await startPrometheus(work.dir, `127.0.0.1:${exporter.port}`, JOB, ['--enable-feature=native-histograms', '--enable-feature=exemplar-storage']);
  });

  after(async () => {
    const prometheusExit = await prometheus?.process.stop('SIGTERM');
    await exporter?.close();
    for (const writer of writers) if (writer.child.exitCode === null && writer.child.signalCode === null) await writer.exit();
    for (const writer of writers) if (writer.child.pid) killQuietly(writer.child.pid);
    work?.cleanup();
    if (prometheusExit) assert.deepEqual(prometheusExit, { code: 0, signal: null }, prometheus.process.output());
  });

  async function scalar(expr: string): Promise<number> {
    const result = await pollUntil(expr, () => prometheus.query(expr), (samples) => samples.length === 1);
    return result[0].value;
  }

  it('is scraped as protobuf: up, the protobuf Accept header first, our protobuf content type back', async () => {
    await pollUntil('up', () => prometheus.query(`up{job="${JOB}"}`), (samples) => samples.length === 1 && samples[0].value === 1);
    assert.ok(accepts.length > 0);
    assert.match(accepts[0], /^application\/vnd\.google\.protobuf;proto=io\.prometheus\.client\.MetricFamily;encoding=delimited,/);
    // Prometheus 2.42's whole header (asked again with it: the answer's headers as Prometheus got them).
    assert.equal(accepts[0], PROMETHEUS_2_42_ACCEPT);
    const answer = await request(exporter.url, { headers: { accept: accepts[0], 'accept-encoding': 'gzip' } });
    assert.equal(answer.headers['content-type'], 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited');
    assert.equal(answer.headers['content-encoding'], 'gzip');
    // The collector's own counter comes through protobuf under its text name.
    assert.equal(await scalar(`prom_multiproc_skipped_files_total{job="${JOB}"}`), 0);
  });

  for (const route of ['a', 'p'] as const) {
    const values = Object.values(observed[route]).flat();
    const schema = route === 'a' ? 0 : 3;

    it(`route ${route}: histogram_count and histogram_sum are those of every observation, the SIGKILLed writer's included`, async () => {
      const selector = `latency_seconds{job="${JOB}",route="${route}"}`;
      const count = await pollUntil(`histogram_count ${route}`, () => prometheus.query(`histogram_count(${selector})`), (s) => s.length === 1);
      assert.equal(count[0].value, values.length);
      const sum = await scalar(`histogram_sum(${selector})`);
      const exact = values.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - exact) <= 1e-9 * Math.abs(exact), `histogram_sum ${sum}, observations sum to ${exact}`);
    });

    for (const q of [0.5, 0.9]) {
      it(`route ${route}: histogram_quantile(${q}) lies in the schema ${schema} bucket of the exact quantile`, async () => {
        const result = await scalar(`histogram_quantile(${q}, latency_seconds{job="${JOB}",route="${route}"})`);
        const exact = exactQuantile(values, q);
        const [lower, upper] = bucketAround(exact, schema);
        assert.ok(result >= lower && result <= upper, `histogram_quantile(${q}) = ${result}; exact ${exact}, in bucket (${lower}, ${upper}]`);
      });
    }
  }

  it('stores the exemplar of a counter sent in protobuf', async () => {
    const [series] = await pollUntil('exemplars of requests', () => prometheus.queryExemplars(`requests{job="${JOB}"}`), (result) => result.length === 1 && result[0].exemplars.length > 0);
    assert.equal(series.seriesLabels.__name__, 'requests');
    assert.deepEqual(series.exemplars.map((e) => [e.labels, Number(e.value)]), [[{ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' }, 2]]);
    assert.ok(Math.abs(series.exemplars[0].timestamp - Date.now() / 1000) < 120, `exemplar timestamp ${series.exemplars[0].timestamp}`);
  });

  it('rate() sees no reset while writers die and their files are compacted under its scrapes', async () => {
    const [w3, w0] = writers;
    /** Scrapes Prometheus has made of the exporter so far. */
    const scrapes = async (): Promise<number> => (await prometheus.query(`count_over_time(up{job="${JOB}"}[1h])`))[0]?.value ?? 0;
    const twoMoreScrapes = async (): Promise<void> => {
      const seen = await scrapes();
      await pollUntil('two more scrapes', async () => [await scrapes()], ([n]) => n >= seen + 2);
    };
    /** Compacts until `id`'s files are merged (its lock is taken for stale 2 s after it stopped refreshing it). */
    const compactWriter = async (id: string): Promise<void> => {
      const merged = await pollUntil(`compaction of ${id}`, async () => [compact(dir, { logger: { warn: (m) => warnings.push(m) } })], ([result]) => result?.compacted.includes(id) === true);
      assert.ok(merged[0]!.removedFiles > 0);
    };
    await twoMoreScrapes();
    const since = Date.now();
    // No observation from here on: every increase over this stretch is 0 unless a scrape saw a count fall.
    await compactWriter('w7'); // SIGKILLed before the first scrape
    await twoMoreScrapes();
    await w3.exit();
    await compactWriter('w3');
    await twoMoreScrapes();
    await w0.kill();
    await compactWriter('w0');
    await twoMoreScrapes();
    const window = `${Math.ceil((Date.now() - since) / 1000) + 2}s`;
    for (const route of ['a', 'p'] as const) {
      const selector = `latency_seconds{job="${JOB}",route="${route}"}`;
      assert.equal(await scalar(`histogram_count(increase(${selector}[${window}]))`), 0, `route ${route}: a reset over ${window}`);
      assert.equal(await scalar(`histogram_sum(increase(${selector}[${window}]))`), 0, `route ${route}: a reset over ${window}`);
      assert.equal(await scalar(`histogram_count(${selector})`), Object.values(observed[route]).flat().length, `route ${route}: every observation still counted`);
    }
    assert.deepEqual(fs.readdirSync(dir).filter((name) => /^histogram_w/.test(name)), [], 'the writers of the histograms left no file behind');
  });

  it('logged nothing', () => {
    assert.deepEqual(warnings, []);
  });
});
