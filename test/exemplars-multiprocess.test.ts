// Exemplars across processes: forked writers record exemplars (prom-client's
// API, enableExemplars) into their .exdb files; every scrape of the
// directory shows, per series and per bucket, the latest one over live,
// killed and compacted writers, in OpenMetrics only; a copy torn or damaged
// falls back to the exemplar before it; a damaged file is reported and
// skipped. And a real Prometheus with exemplar storage gets the latest one.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, MultiprocessRegistry, Registry, ValidationError, clearMultiprocDir, compact, metricsHandler } from '../src/index.js';
import { EXEMPLAR_PAYLOAD_BYTES, RECORD_BYTES } from '../src/format/exemplar-record.js';
import { walkEntries, HEADER_SIZE } from '../src/format/layout.js';
import { inspectFile } from '../src/surfaces/inspect.js';
import type { ExemplarCommand } from './helpers/exemplar-worker.js';
import { pollUntil, startPrometheus } from './helpers/examples-prometheus.js';
import { tempDir } from './helpers/fixtures.js';
import { startIpcWriter, type IpcWriter } from './helpers/ipc-writer.js';
import { skipUnlessInstalled } from './helpers/programs.js';
import { assertOpenMetricsParses } from './helpers/promtool.js';
import { parseExposition } from './helpers/exposition-parser.js';

const WORKER = path.join(__dirname, 'helpers', 'exemplar-worker.ts');
const TIMEOUT_MS = 2000;

type Writer = IpcWriter<ExemplarCommand>;

function startWriter(dir: string, id: string): Promise<Writer> {
  return startIpcWriter<ExemplarCommand>(WORKER, { PROMETHEUS_MULTIPROC_DIR: dir, EXEMPLAR_PROCESS_ID: id, EXEMPLAR_TIMEOUT_MS: String(TIMEOUT_MS) });
}

function reader(dir: string, warnings: string[] = []): MultiprocessRegistry {
  return new MultiprocessRegistry({ dir, compactThreshold: 0, contentType: Registry.OPENMETRICS_CONTENT_TYPE, logger: { warn: (m) => void warnings.push(m) } });
}

/** The exemplar on the sample line `series` (`name{labels}`) of an OpenMetrics exposition: its trace id and value, or undefined for none. */
function exemplarOn(text: string, series: string): { trace: string; value: number; timestamp: number } | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no line ${series} in:\n${text}`);
  const match = / # \{trace_id="([^"]*)"\} (\S+) (\S+)$/.exec(line);
  return match ? { trace: match[1], value: Number(match[2]), timestamp: Number(match[3]) } : undefined;
}

/** The byte offset of the payload of the `.exdb` entry whose key holds `needle`. */
function payloadOf(file: string, needle: string): number {
  const buf = fs.readFileSync(file);
  let found: number | undefined;
  walkEntries(buf, buf.length, (entry) => {
    if (buf.toString('utf8', entry.keyStart, entry.keyEnd).includes(needle)) found = entry.valueOffset;
  }, HEADER_SIZE, EXEMPLAR_PAYLOAD_BYTES);
  assert.ok(found !== undefined, `no entry with ${needle} in ${file}`);
  return found;
}

/** Damages one copy of an exemplar (a byte of its labels): its checksum no longer holds. */
function damageCopy(file: string, payload: number, copy: 1 | 2): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const at = payload + 8 + (copy - 1) * RECORD_BYTES + 24;
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, at + 2);
    byte[0] ^= 0xff;
    fs.writeSync(fd, byte, 0, 1, at + 2);
  } finally {
    fs.closeSync(fd);
  }
}

/** Distinct exemplar timestamps (milliseconds) between writers. */
const tick = (): Promise<void> => sleep(5);

describe('exemplars across processes', () => {
  it('the latest exemplar per series and per bucket, over live, killed and compacted writers, in OpenMetrics only', async () => {
    const { dir, cleanup } = tempDir();
    const writers: Writer[] = [];
    try {
      const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((id) => startWriter(dir, id)));
      writers.push(a, b, c);
      await a.send({ op: 'inc', route: '/x', value: 1, trace: 'a1' });
      await tick();
      await b.send({ op: 'inc', route: '/x', value: 2, trace: 'b1' });
      await tick();
      await c.send({ op: 'inc', route: '/x', value: 3, trace: 'c1' });
      await c.send({ op: 'inc', route: '/y', value: 1, trace: 'c-y' });
      await a.send({ op: 'observe', route: '/x', value: 0.05, trace: 'a-fast' });
      await b.send({ op: 'observe', route: '/x', value: 0.5, trace: 'b-mid' });
      await tick();
      await c.send({ op: 'observe', route: '/x', value: 0.07, trace: 'c-fast' });
      await a.send({ op: 'observe', route: '/x', value: 5, trace: 'a-slow' });
      await c.kill();

      const warnings: string[] = [];
      const registry = reader(dir, warnings);
      let text = await registry.metrics();
      assert.match(text, /^requests_total\{route="\/x"\} 6\.0 # \{trace_id="c1"\} 3\.0 \d+(\.\d+)?$/m, 'the killed writer\'s exemplar is the latest');
      assert.equal(exemplarOn(text, 'requests_total{route="/y"}')?.trace, 'c-y');
      assert.deepEqual(exemplarOn(text, 'latency_seconds_bucket{le="0.1",route="/x"}'), { ...exemplarOn(text, 'latency_seconds_bucket{le="0.1",route="/x"}')!, trace: 'c-fast', value: 0.07 });
      assert.equal(exemplarOn(text, 'latency_seconds_bucket{le="1.0",route="/x"}')?.trace, 'b-mid');
      assert.equal(exemplarOn(text, 'latency_seconds_bucket{le="+Inf",route="/x"}')?.trace, 'a-slow');
      assert.equal(exemplarOn(text, 'latency_seconds_count{route="/x"}'), undefined, 'no exemplar on _count');
      assertOpenMetricsParses(text, dir);
      // The text format has no exemplars.
      assert.doesNotMatch(await new MultiprocessRegistry({ dir, compactThreshold: 0 }).metrics(), / # \{/);

      // A newer one replaces it; the exemplar's timestamp is when it was recorded.
      const before = Date.now() / 1000;
      await b.send({ op: 'inc', route: '/x', value: 1, trace: 'b2' });
      text = await registry.metrics();
      const latest = exemplarOn(text, 'requests_total{route="/x"}')!;
      assert.equal(latest.trace, 'b2');
      assert.ok(latest.timestamp >= before - 0.001 && latest.timestamp <= Date.now() / 1000 + 0.001, `timestamp ${latest.timestamp}`);

      // The killed writer's files are compacted: its exemplars are carried over.
      const past = new Date(Date.now() - 10 * TIMEOUT_MS);
      fs.utimesSync(path.join(dir, 'c.lock'), past, past);
      assert.deepEqual(compact(dir)?.compacted, ['c']);
      assert.ok(fs.existsSync(path.join(dir, 'counter_compacted.exdb')) && fs.existsSync(path.join(dir, 'histogram_compacted.exdb')));
      assert.ok(!fs.existsSync(path.join(dir, 'counter_c.exdb')));
      for (const scraper of [registry, reader(dir)]) {
        text = await scraper.metrics();
        assert.equal(exemplarOn(text, 'requests_total{route="/y"}')?.trace, 'c-y');
        assert.equal(exemplarOn(text, 'requests_total{route="/x"}')?.trace, 'b2');
        assert.equal(exemplarOn(text, 'latency_seconds_bucket{le="0.1",route="/x"}')?.trace, 'c-fast');
      }
      const inspected = inspectFile(path.join(dir, 'counter_compacted.exdb'));
      assert.deepEqual(inspected.problems, []);
      assert.deepEqual(inspected.entries.map((e) => [e.labels.route, e.exemplar?.labels.trace_id]), [['/x', 'c1'], ['/y', 'c-y']]);
      assert.equal(warnings.length, 0, warnings.join('\n'));

      await a.exit();
      await b.exit();
      clearMultiprocDir(dir);
      assert.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.exdb')), []);
    } finally {
      for (const w of writers) w.child.kill('SIGKILL');
      cleanup();
    }
  });

  it('a series withdrawn (remove(), reset()) or zeroed keeps no exemplar: its writer clears it in its file, so the series made again shows none, or another writer\'s', async () => {
    const { dir, cleanup } = tempDir();
    const writers: Writer[] = [];
    try {
      const [a, b] = await Promise.all(['a', 'b'].map((id) => startWriter(dir, id)));
      writers.push(a, b);
      await b.send({ op: 'inc', route: '/shared', value: 2, trace: 'b-shared' });
      await tick();
      await a.send({ op: 'inc', route: '/shared', value: 5, trace: 'old-life' });
      await a.send({ op: 'inc', route: '/alone', value: 5, trace: 'old-alone' });
      await a.send({ op: 'observe', route: '/alone', value: 0.05, trace: 'old-bucket' });
      const registry = reader(dir);
      let text = await registry.metrics();
      assert.equal(exemplarOn(text, 'requests_total{route="/shared"}')?.trace, 'old-life');
      assert.equal(exemplarOn(text, 'requests_total{route="/alone"}')?.trace, 'old-alone');
      assert.equal(exemplarOn(text, 'latency_seconds_bucket{le="0.1",route="/alone"}')?.trace, 'old-bucket');

      // Removed, then made again without an exemplar: none of its earlier life, in a scraper that saw it and in a new one.
      await a.send({ op: 'remove', route: '/shared' });
      await a.send({ op: 'remove', route: '/alone' });
      for (const file of ['counter_a.exdb', 'histogram_a.exdb']) {
        assert.equal(fs.readFileSync(path.join(dir, file))[payloadOf(path.join(dir, file), '/alone')], 0, `${file}: the exemplar is cleared (copy in use 0)`);
      }
      await a.send({ op: 'incPlain', route: '/shared', value: 1 });
      await a.send({ op: 'incPlain', route: '/alone', value: 1 });
      await a.send({ op: 'observePlain', route: '/alone', value: 0.05 });
      for (const scraper of [registry, reader(dir)]) {
        text = await scraper.metrics();
        assert.match(text, /^requests_total\{route="\/alone"\} 1\.0$/m);
        assert.match(text, /^latency_seconds_bucket\{le="0\.1",route="\/alone"\} 1\.0$/m);
        // The other writer's series lives on: its exemplar is the one shown.
        assert.match(text, /^requests_total\{route="\/shared"\} 3\.0 # \{trace_id="b-shared"\} 2\.0 /m);
        assertOpenMetricsParses(text, dir);
      }
      // The writer's get() agrees: no exemplar either.
      const got = (await a.send({ op: 'get' })) as { counter: Array<{ exemplar?: unknown }>; histogram: Array<{ exemplar?: unknown }> };
      assert.deepEqual(got.counter.map((v) => v.exemplar ?? null), [null, null]);
      assert.deepEqual(got.histogram.map((v) => v.exemplar ?? null), got.histogram.map(() => null));

      // The cleared slot takes the next exemplar; reset() clears it again.
      await a.send({ op: 'inc', route: '/alone', value: 1, trace: 'second-life' });
      assert.equal(exemplarOn(await registry.metrics(), 'requests_total{route="/alone"}')?.trace, 'second-life');
      await a.send({ op: 'reset' });
      await a.send({ op: 'incPlain', route: '/alone', value: 1 });
      assert.equal(exemplarOn(await registry.metrics(), 'requests_total{route="/alone"}'), undefined, 'reset(): no exemplar');

      // zero() too, as prom-client's zero() gives a fresh entry.
      await a.send({ op: 'inc', route: '/alone', value: 1, trace: 'third-life' });
      await a.send({ op: 'observe', route: '/alone', value: 0.05, trace: 'third-bucket' });
      text = await registry.metrics();
      assert.equal(exemplarOn(text, 'requests_total{route="/alone"}')?.trace, 'third-life');
      assert.equal(exemplarOn(text, 'latency_seconds_bucket{le="0.1",route="/alone"}')?.trace, 'third-bucket');
      await a.send({ op: 'zero', route: '/alone' });
      text = await reader(dir).metrics();
      assert.match(text, /^requests_total\{route="\/alone"\} 0\.0$/m);
      assert.match(text, /^latency_seconds_bucket\{le="0\.1",route="\/alone"\} 0\.0$/m);
      await a.exit();
      await b.exit();
    } finally {
      for (const w of writers) w.child.kill('SIGKILL');
      cleanup();
    }
  });

  it('a torn or damaged copy falls back to the exemplar before it, then to none; a damaged file is reported and skipped, the rest served', async () => {
    const { dir, cleanup } = tempDir();
    let writer: Writer | undefined;
    try {
      writer = await startWriter(dir, 'w');
      await writer.send({ op: 'inc', route: '/z', value: 1, trace: 'z1' });
      await tick();
      await writer.send({ op: 'inc', route: '/z', value: 1, trace: 'z2' });
      await writer.exit();
      const file = path.join(dir, 'counter_w.exdb');
      const payload = payloadOf(file, '/z');
      const warnings: string[] = [];
      assert.equal(exemplarOn(await reader(dir, warnings).metrics(), 'requests_total{route="/z"}')?.trace, 'z2');
      damageCopy(file, payload, 2); // z2 was written into copy 2, the one in use
      assert.equal(exemplarOn(await reader(dir, warnings).metrics(), 'requests_total{route="/z"}')?.trace, 'z1');
      damageCopy(file, payload, 1);
      const text = await reader(dir, warnings).metrics();
      assert.equal(exemplarOn(text, 'requests_total{route="/z"}'), undefined);
      assert.match(text, /^requests_total\{route="\/z"\} 2\.0$/m);
      assert.equal(warnings.length, 0, `a copy that does not check out is not an error (a write may tear it): ${warnings.join('\n')}`);
      assert.equal(inspectFile(file).entries[0].exemplar, null);

      // Not an exemplar file: reported, skipped, and the scrape is whole.
      fs.writeFileSync(path.join(dir, 'counter_evil.exdb'), Buffer.concat([Buffer.from([200, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(192, 7)]));
      const hostile = await reader(dir, warnings).metrics();
      assert.match(hostile, /^requests_total\{route="\/z"\} 2\.0$/m);
      assertOpenMetricsParses(hostile, dir);
      assert.ok(warnings.some((w) => w.includes('counter_evil.exdb') && w.includes('skipped')), warnings.join('\n'));
    } finally {
      writer?.child.kill('SIGKILL');
      cleanup();
    }
  });

  it('a real Prometheus with exemplar storage gets the latest exemplar of the merged series', { skip: skipUnlessInstalled('prometheus') }, async () => {
    const { dir, cleanup } = tempDir();
    const work = tempDir('prom-multiproc-exemplars-');
    const writers: Writer[] = [];
    const server = http.createServer(metricsHandler(new MultiprocessRegistry({ dir, compactThreshold: 0, logger: { warn: () => {} } })));
    let prometheus: Awaited<ReturnType<typeof startPrometheus>> | undefined;
    try {
      const [a, b] = await Promise.all(['a', 'b'].map((id) => startWriter(dir, id)));
      writers.push(a, b);
      await a.send({ op: 'inc', route: '/x', value: 1, trace: 'first' });
      await tick();
      await b.send({ op: 'inc', route: '/x', value: 2, trace: 'second' });
      await b.kill();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      prometheus = await startPrometheus(work.dir, `127.0.0.1:${port}`, 'exemplars', ['--enable-feature=exemplar-storage']);
      const found = await pollUntil(
        'an exemplar for requests_total',
        () => prometheus!.queryExemplars('requests_total'),
        (data) => data.some((series) => series.exemplars.length > 0),
      );
      const exemplars = found.flatMap((series) => series.exemplars.map((e) => ({ series: series.seriesLabels.route, trace: e.labels.trace_id, value: Number(e.value) })));
      assert.deepEqual(exemplars[exemplars.length - 1], { series: '/x', trace: 'second', value: 2 });
      const [total] = await prometheus.query('requests_total');
      assert.equal(total.value, 3);
    } finally {
      await prometheus?.process.stop('SIGTERM');
      server.close();
      for (const w of writers) w.child.kill('SIGKILL');
      cleanup();
      work.cleanup();
    }
  });
});

describe('exemplar files are untrusted input', () => {
  it('mutants of real .exdb files never fail a scrape, never break the exposition, never change a value', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const writer = await startWriter(dir, 'w');
      for (const [i, route] of ['/a', '/b', '/c'].entries()) {
        await writer.send({ op: 'inc', route, value: i + 1, trace: `t${i}-é` });
        await writer.send({ op: 'observe', route, value: i * 0.4, trace: `o${i}` });
      }
      await writer.exit();
      const good = await reader(dir).metrics();
      const values = (text: string): string[] => text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/ # \{.*$/, ''));
      const originals = ['counter_w.exdb', 'histogram_w.exdb'].map((name) => ({ name, bytes: fs.readFileSync(path.join(dir, name)) }));
      const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
      let state = seed;
      const random = (n: number): number => {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        return state % n;
      };
      let withExemplars = 0;
      for (let mutant = 0; mutant < 300; mutant++) {
        const { name, bytes } = originals[mutant % 2];
        const copy = Buffer.from(bytes);
        const used = copy.readInt32LE(0);
        // Mostly within what is in use (keys, selectors, copies), sometimes the header.
        for (let k = 1 + random(4); k > 0; k--) copy[random(8) === 0 ? random(8) : random(used)] = random(256);
        fs.writeFileSync(path.join(dir, name), copy);
        const text = await reader(dir).metrics();
        const context = `seed ${seed}, mutant ${mutant} of ${name}`;
        const families = parseExposition(text, 'openmetrics');
        assert.ok(families.length > 0, context);
        const ours = (l: string): boolean => !l.startsWith('prom_multiproc_');
        assert.deepEqual(values(text).filter(ours), values(good).filter(ours), `${context}: values changed`);
        if (/ # \{/.test(text)) withExemplars++;
      }
      for (const { name, bytes } of originals) fs.writeFileSync(path.join(dir, name), bytes);
      assert.ok(withExemplars > 30, `most mutants still show some exemplar (${withExemplars} of 300, seed ${seed})`);
    } finally {
      cleanup();
    }
  });
});

describe('exemplar labels', () => {
  it('are refused whole, naming the metric, past 128 characters, past the 256 bytes a record holds, or with a name that is no label name', async () => {
    const registry = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
    const counter = new Counter({ name: 'refusals_total', help: 'R.', enableExemplars: true, registers: [registry] });
    const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX';
    const many = Object.fromEntries([...letters].map((name) => [name, 'v'])); // 100 characters in 50 labels: 300 bytes
    assert.throws(() => counter.inc({ value: 1, exemplarLabels: many }), (err: Error) => err instanceof ValidationError && /Counter refusals_total: .* 300 bytes .* 256/.test(err.message));
    assert.throws(() => counter.inc({ value: 1, exemplarLabels: { trace_id: '漢'.repeat(100) } }), /Counter refusals_total: .* 312 bytes/);
    assert.throws(() => counter.inc({ value: 1, exemplarLabels: { trace_id: 'x'.repeat(130) } }), /Counter refusals_total: .*128/);
    assert.throws(() => counter.inc({ value: 1, exemplarLabels: { 'trace-id': 'x' } }), /Counter refusals_total: exemplar label name "trace-id" is not a valid label name/);
    counter.inc({ value: 2, exemplarLabels: { trace_id: 'x'.repeat(60), span_id: 'y'.repeat(50) } });
    assert.match(await registry.metrics(), /^refusals_total 2 # \{trace_id="x{60}",span_id="y{50}"\} 2 \d/m, 'nothing of the refused calls was counted');
  });
});
