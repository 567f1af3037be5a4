import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { assertAllErrorsOk, EXPECT_ERROR, runSnippet, runSnippetLines as run } from './helpers/run-script.js';
import { tempDir } from './helpers/fixtures.js';
import { readEntryFile } from './helpers/read-entries.js';

/** The metrics files of a directory (writers also keep a liveness lock and marker there). */
function dbFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.db'))
    .sort();
}

describe('bad input gets a clear error and loses nothing', () => {
  for (const mode of ['multiprocess', 'in-process'] as const) {
    it(`${mode}: every mistake throws a typed error naming the culprit; recorded values survive`, () => {
      const { dir, cleanup } = tempDir();
      try {
        const lines = run(
          `${EXPECT_ERROR}
          const c = new lib.Counter({ name: 'requests_total', help: 'h', labelNames: ['method', 'code'] });
          c.inc({ method: 'GET', code: '200' }, 5);
          const child = c.labels('GET', '200');
          const plain = new lib.Counter({ name: 'plain', help: 'h' });
          plain.inc(2);
          const recent = new lib.Gauge({ name: 'recent', help: 'h', multiprocessMode: 'mostrecent' });
          recent.set(7);
          const h = new lib.Histogram({ name: 'lat', help: 'h', labelNames: ['route'], buckets: [1, 2] });
          h.observe({ route: '/a' }, 1.5);

          expectError(() => new lib.Counter({ name: '1bad', help: 'h' }), 'ValidationError', '"1bad"');
          expectError(() => new lib.Counter({ name: 'bad-name', help: 'h' }), 'ValidationError', 'bad-name');
          expectError(() => new lib.Counter({ name: 'x1', help: 'h', labelNames: ['ok', 'bad-label'] }), 'ValidationError', 'x1', 'bad-label');
          expectError(() => new lib.Counter({ name: 'x2', help: 'h', labelNames: ['__reserved'] }), 'ValidationError', 'x2', '__reserved');
          expectError(() => new lib.Counter({ name: 'x3', help: 'h', labelNames: ['a', 'a'] }), 'ValidationError', 'x3', '"a"');
          expectError(() => new lib.Histogram({ name: 'x4', help: 'h', labelNames: ['le'] }), 'ValidationError', 'x4', 'le');
          expectError(() => new lib.Summary({ name: 'x5', help: 'h', labelNames: ['quantile'] }), 'ValidationError', 'x5', 'quantile');
          expectError(() => new lib.Histogram({ name: 'x6', help: 'h', buckets: [2, 1] }), 'ValidationError', 'x6', 'increasing');
          expectError(() => new lib.Gauge({ name: 'x7', help: 'h', multiprocessMode: 'average' }), 'ValidationError', 'x7', 'average');
          expectError(() => new lib.Counter({ name: 'requests_total', help: 'again' }), 'ValidationError', 'requests_total', 'already');
          expectError(() => new lib.Counter({ name: 'x8' }), 'ValidationError', 'x8', 'help');
          expectError(() => c.labels('GET'), 'ValidationError', 'requests_total', 'expected 2', 'method, code');
          expectError(() => c.labels('GET', '200', 'extra'), 'ValidationError', 'requests_total', 'got 3');
          expectError(() => c.inc({ method: 'GET', code: '200', extra: 'x' }), 'ValidationError', 'requests_total', 'unknown label', 'extra');
          expectError(() => c.inc({ method: 'GET', kode: '200' }), 'ValidationError', 'requests_total', 'kode');
          expectError(() => plain.inc({ method: 'GET' }), 'ValidationError', 'plain', 'unknown label', 'method');
          // As in prom-client, any subset of the label names makes a series of its own (none: the series without labels).
          c.inc({ method: 'GET' });
          c.inc(3);
          expectError(() => child.inc(-1), 'ValidationError', 'requests_total', '-1');
          expectError(() => c.inc({ method: 'GET', code: '200' }, -2), 'ValidationError', 'requests_total', '-2');
          expectError(() => plain.inc(NaN), 'ValidationError', 'plain', 'NaN');
          expectError(() => recent.inc(), 'ValidationError', 'recent', 'inc()', 'mostrecent');
          expectError(() => recent.dec(1), 'ValidationError', 'recent', 'dec()', 'mostrecent');
          expectError(() => h.observe({ route: '/a' }, NaN), 'ValidationError', 'lat', 'NaN');
          expectError(() => lib.configure({ processId: 'a_b' }), 'ConfigError', 'a_b', '_');
          expectError(() => lib.configure({ dir: '/elsewhere' }), 'ConfigError', 'before the first metric');
          expectError(() => lib.configure({ processId: 'late' }), 'ConfigError', 'before the first metric');

          const reg = new lib.MultiprocessRegistry();
          console.log(JSON.stringify({ text: await reg.metrics() }));`,
          mode === 'multiprocess' ? { PROMETHEUS_MULTIPROC_DIR: dir } : {},
        );
        assertAllErrorsOk(lines);
        assert.equal(lines.length, 26);
        const text = (lines[lines.length - 1] as { text: string }).text;
        if (mode === 'multiprocess') {
          // The merged view: Python's number format, label pairs sorted.
          assert.match(text, /^requests_total\{code="200",method="GET"\} 5\.0$/m);
          assert.match(text, /^requests_total\{method="GET"\} 1\.0$/m);
          assert.match(text, /^requests_total 3\.0$/m);
          assert.match(text, /^plain 2\.0$/m);
          assert.match(text, /^recent 7\.0$/m);
          assert.match(text, /^lat_count\{route="\/a"\} 1\.0$/m);
          assert.match(text, /^lat_sum\{route="\/a"\} 1\.5$/m);
        } else {
          // prom-client's: label pairs as given, numbers as JavaScript prints them.
          assert.match(text, /^requests_total\{method="GET",code="200"\} 5$/m);
          assert.match(text, /^requests_total\{method="GET"\} 1$/m);
          assert.match(text, /^requests_total 3$/m);
          assert.match(text, /^plain 2$/m);
          assert.match(text, /^recent 7$/m);
          assert.match(text, /^lat_count\{route="\/a"\} 1$/m);
          assert.match(text, /^lat_sum\{route="\/a"\} 1\.5$/m);
        }
        assert.doesNotMatch(text, /^plain\{/m, 'the refused inc() made no series');
        assert.doesNotMatch(text, /x\d|1bad|bad-name/);
        if (mode === 'multiprocess') {
          const prefixes = dbFiles(dir).map((f) => f.replace(/_\d+\.db$/, '')).sort();
          assert.deepEqual(prefixes, ['counter', 'gauge_mostrecent', 'histogram']);
        }
      } finally {
        cleanup();
      }
    });
  }

  it('processId with "_" is refused by configure(), and a function id that returns one at first use', () => {
    const { dir, cleanup } = tempDir();
    try {
      const lines = run(
        `${EXPECT_ERROR}
        expectError(() => lib.configure({ processId: 'web_1' }), 'ConfigError', 'web_1');
        lib.configure({ processId: () => 'worker_7' });
        expectError(() => new lib.Counter({ name: 'n', help: 'h' }), 'ConfigError', 'worker_7');`,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      );
      assertAllErrorsOk(lines);
      assert.equal(lines.length, 2);
      assert.deepEqual(dbFiles(dir), []);
    } finally {
      cleanup();
    }
  });
});

describe('the multiprocess directory', () => {
  it('is read at the first metric use, not at import', () => {
    const { dir, cleanup } = tempDir();
    try {
      run(
        `process.env.PROMETHEUS_MULTIPROC_DIR = ${JSON.stringify(dir)};
        new lib.Counter({ name: 'late', help: 'h' }).inc();`,
      );
      assert.deepEqual(dbFiles(dir).map((f) => f.replace(/_\d+\.db$/, '')), ['counter']);
    } finally {
      cleanup();
    }
  });

  it('a missing directory or a file in its place gives a ConfigError naming the path', () => {
    const { dir, cleanup } = tempDir();
    try {
      const missing = path.join(dir, 'does-not-exist');
      const file = path.join(dir, 'a-file');
      fs.writeFileSync(file, 'x');
      for (const target of [missing, file]) {
        const lines = run(
          `${EXPECT_ERROR}
          expectError(() => new lib.Counter({ name: 'c', help: 'h' }), 'ConfigError', ${JSON.stringify(target)});
          const reg = new lib.MultiprocessRegistry();
          try { await reg.metrics(); console.log(JSON.stringify({ ok: false, message: 'scrape did not fail' })); }
          catch (err) { console.log(JSON.stringify({ ok: err instanceof lib.ConfigError && err.message.includes(${JSON.stringify(target)}), message: err.message })); }`,
          { PROMETHEUS_MULTIPROC_DIR: target },
        );
        assertAllErrorsOk(lines);
        assert.equal(lines.length, 2);
      }
    } finally {
      cleanup();
    }
  });

  it('the deprecated lower-case prometheus_multiproc_dir works, with a deprecation warning', () => {
    const { dir, cleanup } = tempDir();
    try {
      const result = runSnippet(`new lib.Counter({ name: 'old', help: 'h' }).inc();`, { prometheus_multiproc_dir: dir });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stderr, /DeprecationWarning: prometheus_multiproc_dir is deprecated, use PROMETHEUS_MULTIPROC_DIR/);
      assert.equal(dbFiles(dir).length, 1);
    } finally {
      cleanup();
    }
  });

  it('configure({ dir, processId }) names the files', () => {
    const { dir, cleanup } = tempDir();
    try {
      run(
        `lib.configure({ dir: ${JSON.stringify(dir)}, processId: () => 'web7' });
        new lib.Gauge({ name: 'g', help: 'h', multiprocessMode: 'livesum' }).set(1);
        new lib.Counter({ name: 'c', help: 'h', labelNames: ['a'] });`,
      );
      // A labelled metric whose children were never made has no file yet.
      assert.deepEqual(dbFiles(dir), ['gauge_livesum_web7.db']);
    } finally {
      cleanup();
    }
  });
});

describe('prom-client methods', () => {
  it('in-process (no directory): remove, reset, zero, get and startTimer behave as in prom-client', () => {
    // The same calls on our classes and on prom-client's: the expositions and get() must be the same, byte for byte.
    const lines = run(`
      async function scenario(m, reg) {
        const c = new m.Counter({ name: 'ops_total', help: 'Ops.', labelNames: ['kind'] });
        c.inc({ kind: 'a' }, 2);
        c.labels('b').inc(3);
        c.labels({ kind: 'c' }).inc();
        c.remove('b');
        c.remove({ kind: 'c' });
        const g = new m.Gauge({ name: 'temp', help: 'T.', labelNames: ['room'] });
        g.set({ room: 'x' }, 21.5);
        g.inc({ room: 'y' }, 2);
        g.dec({ room: 'y' }, 0.5);
        if (m === lib) g.zero({ room: 'z' }); else g.set({ room: 'z' }, 0); // zero() is ours
        const s = new m.Summary({ name: 'took', help: 'Took.', percentiles: [0.5] });
        s.observe(1); s.observe(2);
        const h = new m.Histogram({ name: 'lat', help: 'L.', buckets: [0.1, 10] });
        const end = h.startTimer();
        const seconds = end();
        const first = await reg.metrics();
        const counter = await c.get();
        const histogram = await h.get();
        c.reset();
        c.labels('b').inc(5); // a removed-then-reset series starts again from 0
        g.reset();
        h.reset();
        s.reset();
        return { first, counter, histogram, seconds, after: await reg.metrics() };
      }
      console.log(JSON.stringify(await scenario(lib, new lib.MultiprocessRegistry())));
      console.log(JSON.stringify(await scenario(prom, prom.register)));
    `);
    type Result = {
      first: string;
      after: string;
      counter: { name: string; type: string; values: Array<{ value: number; labels: Record<string, string> }> };
      histogram: { values: Array<{ value: number; labels: Record<string, string | number>; metricName: string }> };
      seconds: number;
    };
    const [ours, theirs] = lines as [Result, Result];
    const first = ours.first;
    assert.match(first, /^ops_total\{kind="a"\} 2$/m);
    assert.doesNotMatch(first, /kind="b"|kind="c"/);
    assert.match(first, /^temp\{room="x"\} 21\.5$/m);
    assert.match(first, /^temp\{room="y"\} 1\.5$/m);
    assert.match(first, /^temp\{room="z"\} 0$/m);
    assert.doesNotMatch(first, /pid=/, 'no pid label in-process');
    assert.match(first, /^took\{quantile="0\.5"\} 1\.5$/m);
    assert.match(first, /^took_count 2$/m);
    assert.match(first, /^took_sum 3$/m);
    assert.match(first, /^lat_count 1$/m);
    // Only the timed seconds differ from prom-client's.
    const untimed = (text: string): string => text.replace(/^lat_sum [^\n]*$/m, 'lat_sum <seconds>');
    assert.equal(untimed(first), untimed(theirs.first));
    assert.equal(ours.after, theirs.after);
    const { counter, histogram, seconds } = ours;
    assert.equal(counter.name, 'ops_total');
    assert.equal(counter.type, 'counter');
    assert.deepEqual(counter.values, [{ value: 2, labels: { kind: 'a' } }]);
    assert.deepEqual(counter, theirs.counter);
    assert.ok(seconds >= 0 && seconds < 10);
    assert.deepEqual(
      histogram.values.map((v) => [v.metricName, v.labels.le, v.value]),
      [
        ['lat_bucket', 0.1, seconds <= 0.1 ? 1 : 0],
        ['lat_bucket', 10, 1],
        ['lat_bucket', '+Inf', 1],
        ['lat_sum', undefined, seconds],
        ['lat_count', undefined, 1],
      ],
    );
    const withoutSum = (h: Result['histogram']) => h.values.map((v) => (v.metricName === 'lat_sum' ? { ...v, value: 0 } : v));
    assert.deepEqual(withoutSum(histogram), withoutSum(theirs.histogram));
    const after = ours.after;
    assert.match(after, /^ops_total\{kind="b"\} 5$/m);
    assert.doesNotMatch(after, /kind="a"|room=/);
    assert.doesNotMatch(after, /^lat_/m, 'a reset unlabelled histogram has no series until its next observe()');
    assert.match(after, /^took_count 0$/m, 'a reset summary keeps its series, at 0');
  });

  it('multiprocess: remove() and reset() withdraw this process\'s series from the merged view; made again, a series starts from 0', () => {
    const { dir, cleanup } = tempDir();
    try {
      // A writer that has exited: what it counted leaves the merged view with a series a live process removes and none holds.
      run(
        `lib.configure({ processId: 'earlier' });
        new lib.Counter({ name: 'ops_total', help: 'Ops.', labelNames: ['kind'] }).inc({ kind: 'shared' }, 100);`,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      );
      const lines = run(
        `lib.configure({ processId: 'now' });
        const c = new lib.Counter({ name: 'ops_total', help: 'Ops.', labelNames: ['kind'] });
        c.inc({ kind: 'a' }, 2);
        c.inc({ kind: 'b' }, 4);
        c.inc({ kind: 'shared' }, 7);
        const g = new lib.Gauge({ name: 'g', help: 'G.', multiprocessMode: 'mostrecent', labelNames: ['k'] });
        g.set({ k: 'x' }, 4);
        const plain = new lib.Counter({ name: 'plain', help: 'P.' });
        plain.inc(3);
        const h = new lib.Histogram({ name: 'lat', help: 'L.', buckets: [1] });
        h.observe(0.5);
        const reg = new lib.MultiprocessRegistry();
        const scrape = async () => console.log(JSON.stringify({ text: await reg.metrics(), own: (await c.get()).values }));
        await scrape();
        c.remove('a');
        c.remove({ kind: 'shared' });
        await scrape();
        c.inc({ kind: 'a' }, 1); // made again: from 0, not from the 2 it had
        await scrape();
        c.reset();
        g.reset();
        plain.reset();
        h.reset();
        await scrape();
        h.observe(2); // an unlabelled histogram is back at its next observe()
        await scrape();`,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      );
      const [before, removed, again, reset, observed] = (lines as Array<{ text: string; own: Array<{ value: number; labels: Record<string, string> }> }>).map(
        (l) => ({ ...l, samples: l.text.split('\n').filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('prom_multiproc_')) }),
      );
      assert.deepEqual(before.samples, [
        'g{k="x"} 4.0',
        'lat_bucket{le="1.0"} 1.0',
        'lat_bucket{le="+Inf"} 1.0',
        'lat_sum 0.5',
        'lat_count 1.0',
        'ops_total{kind="a"} 2.0',
        'ops_total{kind="b"} 4.0',
        'ops_total{kind="shared"} 107.0',
        'plain 3.0',
      ]);
      // Removed: gone from this process's get() and from the merged view, unless another live process holds the series.
      assert.deepEqual(removed.samples.filter((l) => l.startsWith('ops_total')), ['ops_total{kind="b"} 4.0']);
      assert.deepEqual(removed.own, [{ value: 4, labels: { kind: 'b' } }]);
      assert.deepEqual(again.samples.filter((l) => l.startsWith('ops_total')), ['ops_total{kind="a"} 1.0', 'ops_total{kind="b"} 4.0']);
      assert.deepEqual(again.own, [{ value: 4, labels: { kind: 'b' } }, { value: 1, labels: { kind: 'a' } }]);
      // reset(): labelled series withdrawn, an unlabelled counter stays at 0, an unlabelled histogram goes until its next observe().
      assert.deepEqual(reset.samples, ['plain 0.0']);
      assert.deepEqual(reset.own, []);
      assert.deepEqual(observed.samples, ['lat_bucket{le="1.0"} 0.0', 'lat_bucket{le="+Inf"} 1.0', 'lat_sum 2.0', 'lat_count 1.0', 'plain 0.0']);
      // One entry per series in the file, not a second one after remove(); withdrawn entries hold 0 with timestamp -1.
      const entries = readEntryFile(path.join(dir, 'counter_now.db'));
      assert.deepEqual(
        entries.map((e) => [e.sampleName, e.labels, e.value, e.timestamp]),
        [
          ['ops_total', { kind: 'a' }, 0, -1],
          ['ops_total', { kind: 'b' }, 0, -1],
          ['ops_total', { kind: 'shared' }, 0, -1],
          ['plain', {}, 0, 0],
        ],
      );
    } finally {
      cleanup();
    }
  });

  it('a restarted process with the same id finds its entries and continues from their values', () => {
    const { dir, cleanup } = tempDir();
    try {
      const body = `lib.configure({ processId: 'stable' });
        new lib.Counter({ name: 'restarts', help: 'h', labelNames: ['x'] }).inc({ x: 'é"' }, 1);`;
      run(body, { PROMETHEUS_MULTIPROC_DIR: dir });
      run(body, { PROMETHEUS_MULTIPROC_DIR: dir });
      const lines = run(`console.log(JSON.stringify({ text: await new lib.MultiprocessRegistry().metrics() }));`, { PROMETHEUS_MULTIPROC_DIR: dir });
      // A counter declared without _total is exported (and stored) under its declared name, as prom-client names it.
      assert.match((lines[0] as { text: string }).text, /^# TYPE restarts counter$/m);
      assert.match((lines[0] as { text: string }).text, /^restarts\{x="é\\""\} 2\.0$/m);
      // One entry per file, under the exact key: the first life's (compacted when the id was claimed again) and the second's.
      for (const file of ['counter_compacted.db', 'counter_stable.db']) {
        const entries = readEntryFile(path.join(dir, file));
        assert.deepEqual(entries.map((e) => [e.family, e.sampleName, e.labels, e.value]), [['restarts', 'restarts', { x: 'é"' }, 1]], file);
      }
    } finally {
      cleanup();
    }
  });

  for (const mode of ['in-process', 'multiprocess'] as const) {
    it(`${mode}: OpenMetrics: content type switch, counter family without _total, # EOF`, () => {
      const { dir, cleanup } = tempDir();
      try {
        const lines = run(
          `async function scrape(m, reg) {
            const c = new m.Counter({ name: 'jobs', help: 'Jobs "done".' });
            c.inc();
            reg.setContentType(m.openMetricsContentType);
            return { contentType: reg.contentType, text: await reg.metrics() };
          }
          console.log(JSON.stringify(await scrape(lib, new lib.MultiprocessRegistry())));
          try { new lib.MultiprocessRegistry().setContentType('text/html'); } catch (err) { console.log(JSON.stringify({ error: err.message })); }
          console.log(JSON.stringify(await scrape(prom, prom.register)));`,
          mode === 'multiprocess' ? { PROMETHEUS_MULTIPROC_DIR: dir } : {},
        );
        const { contentType, text } = lines[0] as { contentType: string; text: string };
        assert.equal(contentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
        assert.match((lines[1] as { error: string }).error, /text\/html/);
        if (mode === 'in-process') {
          // prom-client's bytes (its HELP text keeps the quotes as they are).
          assert.equal(text, '# HELP jobs Jobs "done".\n# TYPE jobs counter\njobs_total 1\n# EOF\n');
          assert.equal(text, (lines[2] as { text: string }).text);
        } else {
          assert.match(text, /^# HELP jobs Jobs \\"done\\"\.$/m);
          assert.match(text, /^# TYPE jobs counter$/m);
          assert.match(text, /^jobs_total 1\.0$/m);
          assert.match(text, /^# TYPE prom_multiproc_skipped_files counter$/m);
          assert.ok(text.endsWith('# EOF\n'));
        }
      } finally {
        cleanup();
      }
    });
  }

  it('serves per-process metrics of a prom-client Registry next to the merged ones', () => {
    const { dir, cleanup } = tempDir();
    try {
      const lines = run(
        `const own = new prom.Registry();
        new prom.Gauge({ name: 'process_thing', help: 'Per process.', registers: [own] }).set(3);
        new prom.Counter({ name: 'prom_jobs', help: 'J.', registers: [own] }).inc(2);
        new lib.Counter({ name: 'merged', help: 'M.' }).inc(5);
        const reg = new lib.MultiprocessRegistry({ registries: [own] });
        console.log(JSON.stringify({ text: await reg.metrics() }));
        const python = new lib.MultiprocessRegistry({ registries: [own], naming: 'python' });
        console.log(JSON.stringify({ text: await python.metrics() }));`,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      );
      // prom-client's naming: counters as declared, ours from the files and prom-client's alike.
      const text = (lines[0] as { text: string }).text;
      assert.match(text, /^# TYPE merged counter$/m);
      assert.match(text, /^merged 5\.0$/m);
      assert.match(text, /^process_thing 3\.0$/m);
      assert.match(text, /^# TYPE prom_jobs counter$/m);
      assert.match(text, /^prom_jobs 2\.0$/m);
      // Python's naming: every counter sample <family>_total, the side registry's too.
      const python = (lines[1] as { text: string }).text;
      assert.match(python, /^# TYPE merged_total counter$/m);
      assert.match(python, /^merged_total 5\.0$/m);
      assert.match(python, /^process_thing 3\.0$/m);
      assert.match(python, /^# TYPE prom_jobs_total counter$/m);
      assert.match(python, /^prom_jobs_total 2\.0$/m);
      assert.doesNotMatch(python, /^prom_jobs /m);
    } finally {
      cleanup();
    }
  });
});

describe('package entry points', () => {
  it('the build is importable with both require and import', () => {
    const root = path.join(__dirname, '..');
    assert.ok(fs.existsSync(path.join(root, 'dist', 'index.js')), 'run npm run build first');
    const cjs = spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(root)}); console.log(typeof m.Counter, typeof m.MultiprocessRegistry)`], {
      encoding: 'utf8',
    });
    assert.equal(cjs.stdout.trim(), 'function function', cjs.stderr);
    const esm = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `import { Counter, MultiprocessRegistry } from ${JSON.stringify(path.join(root, 'dist', 'index.mjs'))}; console.log(typeof Counter, typeof MultiprocessRegistry)`],
      { encoding: 'utf8' },
    );
    assert.equal(esm.stdout.trim(), 'function function', esm.stderr);
  });
});
