// prom-client's API and behaviour, checked against prom-client itself: the
// same program runs against both libraries in one process and their outputs
// must be identical, byte for byte, in-process; and with a multiprocess
// directory, what the registries serve across real processes.
import * as assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { DropinCommand } from './helpers/dropin-worker.js';
import { tempDir } from './helpers/fixtures.js';
import { runSnippetLines as run } from './helpers/run-script.js';

/**
 * A snippet that runs `scenario(p)` (an async function of the library
 * object, returning a record of outputs) once against prom-client and once
 * against us, and prints both.
 */
function sideBySide(scenario: string, env: NodeJS.ProcessEnv = {}): { ours: Record<string, unknown>; theirs: Record<string, unknown> } {
  const [line] = run(
    `const scenario = ${scenario};
    const theirs = await scenario(prom);
    const ours = await scenario(lib);
    console.log(JSON.stringify({ ours, theirs }));`,
    env,
  );
  return line as { ours: Record<string, unknown>; theirs: Record<string, unknown> };
}

function assertSame(result: { ours: Record<string, unknown>; theirs: Record<string, unknown> }): void {
  for (const key of Object.keys(result.theirs)) assert.deepEqual(result.ours[key], result.theirs[key], `${key} differs`);
  assert.deepEqual(Object.keys(result.ours).sort(), Object.keys(result.theirs).sort());
}

describe('in-process: the exposition is prom-client\'s, byte for byte', () => {
  it('counters, gauges, histograms and summaries: label order as given, numbers as JavaScript prints them, escapes, both formats', () => {
    assertSame(
      sideBySide(`async (p) => {
        const c = new p.Counter({ name: 'jobs', help: 'Jobs done', labelNames: ['b', 'a'] });
        c.inc({ b: 'x', a: 1 });
        c.inc({ a: 'y', b: 'z' }, 2);
        c.labels('q', 'r').inc(0.1 + 0.2);
        c.inc({ a: 'only a' }, 4); // a subset of the label names
        const total = new p.Counter({ name: 'big_total', help: 'back\\\\slash and\\nnewline' });
        total.inc(1e21);
        const g = new p.Gauge({ name: 'temperature', help: 'gauge', labelNames: ['room'] });
        g.set({ room: 'quote " backslash \\\\ newline \\n' }, NaN);
        g.set(-Infinity); // the series without labels of a labelled gauge
        g.inc({ room: 'b' });
        g.dec({ room: 'b' }, 0.25);
        g.set({ room: 'tiny' }, 1e-7);
        g.set({ room: 'negative zero' }, -0);
        const h = new p.Histogram({ name: 'latency', help: 'hist', labelNames: ['method'], buckets: [0.1, 1, 2.5] });
        h.observe({ method: 'GET' }, 0.5);
        h.observe(3);
        h.zero({ method: 'POST' });
        const s = new p.Summary({ name: 'sizes', help: 'sum', labelNames: ['kind'], percentiles: [0.5, 0.9, 0.99] });
        for (let i = 1; i <= 100; i++) s.observe({ kind: i % 2 ? 'odd' : 'even' }, i * 1.5);
        // JSON is copied at once: prom-client's get() hands out its stored objects, which a later getMetricsAsJSON() with default labels rewrites.
        const copy = (x) => JSON.parse(JSON.stringify(x));
        const out = { text: await p.register.metrics(), json: copy(await p.register.getMetricsAsJSON()), single: await p.register.getSingleMetricAsString('latency') };
        p.register.setDefaultLabels({ app: 'shop', method: 'ignored where a series has its own' });
        out.withDefaults = await p.register.metrics();
        out.jsonWithDefaults = copy(await p.register.getMetricsAsJSON());
        p.register.setContentType(p.Registry.OPENMETRICS_CONTENT_TYPE);
        out.openMetrics = await p.register.metrics();
        p.register.setContentType(p.Registry.PROMETHEUS_CONTENT_TYPE);
        return out;
      }`),
    );
  });

  it('remove, reset and zero; clear frees the names; a metric made again starts from 0; registers and Registry.merge', () => {
    assertSame(
      sideBySide(`async (p) => {
        const out = {};
        const c = new p.Counter({ name: 'ops_total', help: 'Ops.', labelNames: ['kind'] });
        c.inc({ kind: 'a' }, 2); c.labels('b').inc(3); c.labels({ kind: 'c' }).inc();
        c.remove('b'); c.remove({ kind: 'c' });
        const h = new p.Histogram({ name: 'lat', help: 'L.', buckets: [1] });
        h.observe(0.5);
        const s = new p.Summary({ name: 'took', help: 'T.', percentiles: [0.5] });
        s.observe(1);
        out.before = await p.register.metrics();
        c.reset(); h.reset(); s.reset();
        out.afterReset = await p.register.metrics();
        c.labels('b').inc(5);
        h.observe(2);
        out.usedAgain = await p.register.metrics();
        try { new p.Counter({ name: 'ops_total', help: 'again' }); out.duplicate = 'accepted'; } catch (err) { out.duplicate = err.constructor === Error || err instanceof Error; }
        p.register.removeSingleMetric('lat');
        out.removedOne = p.register.getMetricsAsArray().map((m) => m.name);
        p.register.clear();
        const again = new p.Counter({ name: 'ops_total', help: 'Ops again.' });
        again.inc();
        out.afterClear = await p.register.metrics();
        const mine = new p.Registry();
        const other = new p.Registry();
        const g = new p.Gauge({ name: 'queue', help: 'Q.', registers: [mine, other] });
        g.set(7);
        const alone = new p.Gauge({ name: 'alone', help: 'A.', registers: [] });
        alone.set(1);
        out.mine = await mine.metrics();
        out.globalKeepsItsOwn = await p.register.metrics();
        out.single = p.register.getSingleMetric('queue') === undefined && mine.getSingleMetric('queue') === g;
        new p.Counter({ name: 'merged_total', help: 'M.', registers: [other] }).inc(3);
        const both = p.Registry.merge([mine, new p.Registry()]);
        out.merged = await both.metrics();
        try { p.Registry.merge([mine, other]); out.mergeClash = 'accepted'; } catch { out.mergeClash = 'refused'; }
        return out;
      }`),
    );
  });

  it('a labels() object kept across remove(), reset() and clear() counts again, from 0, as prom-client\'s does', () => {
    assertSame(
      sideBySide(`async (p) => {
        const out = {};
        const c = new p.Counter({ name: 'kept_total', help: 'K.', labelNames: ['kind'] });
        const a = c.labels('a');
        const b = c.labels({ kind: 'b' });
        a.inc(2); b.inc(3);
        c.remove('a');
        a.inc(5); // made again by the kept object alone
        c.reset();
        b.inc(7);
        const madeAgain = c.labels('b'); // the kept object and a new one share the series
        madeAgain.inc(1);
        out.counter = await p.register.metrics();
        const g = new p.Gauge({ name: 'kept_gauge', help: 'G.', labelNames: ['room'] });
        const room = g.labels('x');
        room.set(4);
        g.remove('x');
        room.inc(); room.dec(0.5);
        const h = new p.Histogram({ name: 'kept_hist', help: 'H.', labelNames: ['m'], buckets: [1] });
        const get = h.labels('GET');
        get.observe(0.5);
        h.reset();
        get.observe(2);
        const s = new p.Summary({ name: 'kept_sum', help: 'S.', labelNames: ['m'], percentiles: [0.5] });
        const post = s.labels('POST');
        post.observe(1);
        s.remove('POST');
        post.observe(3);
        out.all = await p.register.metrics();
        out.json = JSON.parse(JSON.stringify(await p.register.getMetricsAsJSON()));
        return out;
      }`),
    );
  });

  it('collect() runs before each read, sync or async; get() shapes', () => {
    assertSame(
      sideBySide(`async (p) => {
        let depth = 0;
        const queue = new p.Gauge({ name: 'queue_depth', help: 'Depth.', collect() { this.set(++depth); } });
        const later = new p.Gauge({ name: 'later', help: 'Async.', labelNames: ['x'], async collect() { await new Promise((r) => setTimeout(r, 5)); this.set({ x: 'y' }, depth * 10); } });
        const out = { first: await p.register.metrics(), second: await p.register.metrics(), get: await queue.get(), getLater: await later.get() };
        const h = new p.Histogram({ name: 'h', help: 'H.', labelNames: ['a'], buckets: [1, 2] });
        h.observe({ a: 'x' }, 1.5);
        out.histogram = await h.get();
        const s = new p.Summary({ name: 's', help: 'S.', percentiles: [0.1, 0.5] });
        [3, 1, 2].forEach((v) => s.observe(v));
        out.summary = await s.get();
        return out;
      }`),
    );
  });

  it('exemplars in OpenMetrics (timestamps aside)', () => {
    const result = sideBySide(`async (p) => {
      const registry = new p.Registry(p.Registry.OPENMETRICS_CONTENT_TYPE);
      const c = new p.Counter({ name: 'hits', help: 'H.', labelNames: ['path'], enableExemplars: true, registers: [registry] });
      c.inc({ labels: { path: '/' }, value: 2, exemplarLabels: { traceId: 'abc' } });
      c.inc({ labels: { path: '/x' } });
      const h = new p.Histogram({ name: 'took', help: 'T.', buckets: [0.1, 1], enableExemplars: true, registers: [registry] });
      h.observe({ value: 0.5, exemplarLabels: { traceId: 'def' } });
      let refused;
      try { new p.Counter({ name: 'bad', help: 'B.', enableExemplars: true }); } catch { refused = true; }
      const text = (await registry.metrics()).replace(/ \\d+(\\.\\d+)?$/gm, ' <time>');
      // Refused: prom-client counts the increment first, we refuse the call whole (nothing half-recorded).
      let tooLong;
      try { c.inc({ labels: { path: '/' }, exemplarLabels: { traceId: 'x'.repeat(130) } }); } catch { tooLong = true; }
      return { text, refused, tooLong };
    }`);
    assertSame(result);
  });

  it('exemplars do not outlive their series: none after remove(), reset() or zero() and a write without one', () => {
    const result = sideBySide(`async (p) => {
      const registry = new p.Registry(p.Registry.OPENMETRICS_CONTENT_TYPE);
      const c = new p.Counter({ name: 'jobs', help: 'J.', labelNames: ['k'], enableExemplars: true, registers: [registry] });
      const lone = new p.Counter({ name: 'lone', help: 'L.', enableExemplars: true, registers: [registry] });
      const h = new p.Histogram({ name: 'took', help: 'T.', labelNames: ['k'], buckets: [1], enableExemplars: true, registers: [registry] });
      const loneH = new p.Histogram({ name: 'took_lone', help: 'T.', buckets: [1], enableExemplars: true, registers: [registry] });
      c.inc({ labels: { k: 'a' }, value: 5, exemplarLabels: { trace_id: 'old-life' } });
      c.inc({ labels: { k: 'b' }, value: 5, exemplarLabels: { trace_id: 'kept' } });
      c.remove({ k: 'a' });
      c.inc({ labels: { k: 'a' }, value: 1 });
      lone.inc({ value: 5, exemplarLabels: { trace_id: 'old-lone' } });
      lone.reset();
      lone.inc({ value: 1 });
      h.observe({ labels: { k: 'a' }, value: 0.5, exemplarLabels: { trace_id: 'old-bucket' } });
      h.zero({ k: 'a' });
      h.observe({ labels: { k: 'a' }, value: 0.5 });
      loneH.observe({ value: 0.5, exemplarLabels: { trace_id: 'old-lone-bucket' } });
      loneH.reset();
      loneH.observe({ value: 0.5 });
      const text = (await registry.metrics()).replace(/ \\d+(\\.\\d+)?$/gm, ' <time>');
      const exemplars = {};
      for (const m of [c, lone, h, loneH]) exemplars[m.name] = (await m.get()).values.map((v) => v.exemplar?.labelSet ?? null);
      return { text, exemplars };
    }`);
    assert.match(String(result.theirs.text), /trace_id="kept"/);
    assertSame(result);
  });
});

describe('multiprocess: the registries serve the merged directory', () => {
  it('register and AggregatorRegistry leave out the families this process registered only in other registries; MultiprocessRegistry serves all', () => {
    const { dir, cleanup } = tempDir();
    try {
      const declare = `const business = new lib.Registry();
        const orders = new lib.Counter({ name: 'orders_total', help: 'Orders.', registers: [business] });
        const requests = new lib.Counter({ name: 'requests_total', help: 'Requests.' });
        const both = new lib.Counter({ name: 'logins_total', help: 'Logins.', registers: [lib.register, business] });`;
      run(`lib.configure({ processId: 'other' }); ${declare} orders.inc(2); requests.inc(3); both.inc(4);`, { PROMETHEUS_MULTIPROC_DIR: dir });
      const [out] = run(
        `lib.configure({ processId: 'here' }); ${declare} orders.inc(20); requests.inc(30); both.inc(40);
        const lines = (text) => text.split('\\n').filter((l) => l !== '' && !l.startsWith('#'));
        console.log(JSON.stringify({
          register: lines(await lib.register.metrics()),
          cluster: lines(await new lib.AggregatorRegistry().clusterMetrics()),
          business: lines(await business.metrics()),
          all: lines(await new lib.MultiprocessRegistry().metrics()),
        }));`,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      ) as Array<Record<string, string[]>>;
      assert.deepEqual(out.register, ['logins_total 44', 'requests_total 33']);
      assert.deepEqual(out.cluster, ['logins_total 44', 'requests_total 33']);
      assert.deepEqual(out.business, ['logins_total 44', 'orders_total 22']);
      assert.deepEqual(out.all, ['logins_total 44.0', 'orders_total 22.0', 'prom_multiproc_skipped_files_total 0.0', 'requests_total 33.0']);
    } finally {
      cleanup();
    }
  });

  it('a gauge with aggregator omit is served by the registries it joined, from this process alone, and by no cluster view', () => {
    const { dir, cleanup } = tempDir();
    try {
      const declare = `const mine = new lib.Registry();
        const local = new lib.Gauge({ name: 'worker_queue', help: 'Q.', labelNames: ['q'], aggregator: 'omit', registers: [lib.register, mine] });
        const shared = new lib.Gauge({ name: 'pool_size', help: 'P.', aggregator: 'sum' });`;
      run(`lib.configure({ processId: 'other' }); ${declare} local.set({ q: 'a' }, 100); shared.set(1);`, { PROMETHEUS_MULTIPROC_DIR: dir });
      const [out] = run(
        `lib.configure({ processId: 'here' }); ${declare} local.set({ q: 'a' }, 7); shared.set(2);
        const lines = (text) => text.split('\\n').filter((l) => l !== '' && !l.startsWith('#'));
        const json = await lib.register.getMetricsAsJSON();
        console.log(JSON.stringify({
          register: lines(await lib.register.metrics()),
          mine: lines(await mine.metrics()),
          cluster: lines(await new lib.AggregatorRegistry().clusterMetrics()),
          all: lines(await new lib.MultiprocessRegistry().metrics()),
          aggregator: json.find((m) => m.name === 'worker_queue').aggregator,
        }));`,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      ) as Array<Record<string, string[]>>;
      // 'other' has exited: a live sum gauge drops its value; the omit gauge never left either process.
      assert.deepEqual(out.register, ['pool_size 2', 'worker_queue{q="a"} 7']);
      assert.deepEqual(out.mine, ['worker_queue{q="a"} 7']);
      assert.deepEqual(out.cluster, ['pool_size 2']);
      assert.deepEqual(out.all, ['pool_size 2.0', 'prom_multiproc_skipped_files_total 0.0']);
      assert.equal(out.aggregator, 'omit');
    } finally {
      cleanup();
    }
  });

  it('a labels() object kept across remove() and reset() counts again in the merged view, from 0', () => {
    const { dir, cleanup } = tempDir();
    try {
      const [out] = run(
        `const c = new lib.Counter({ name: 'kept_total', help: 'K.', labelNames: ['kind'] });
        const h = new lib.Histogram({ name: 'kept_seconds', help: 'H.', labelNames: ['m'], buckets: [1] });
        const a = c.labels('a');
        const get = h.labels('GET');
        a.inc(2); get.observe(0.5);
        c.remove('a'); h.reset();
        const removed = await lib.register.metrics();
        a.inc(3); get.observe(2);
        console.log(JSON.stringify({ removed, used: await lib.register.metrics() }));`,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      ) as Array<{ removed: string; used: string }>;
      assert.doesNotMatch(out.removed, /^kept_total\{/m);
      assert.doesNotMatch(out.removed, /^kept_seconds_count/m);
      assert.match(out.used, /^kept_total\{kind="a"\} 3$/m);
      assert.match(out.used, /^kept_seconds_bucket\{le="1",m="GET"\} 0$/m);
      assert.match(out.used, /^kept_seconds_count\{m="GET"\} 1$/m);
      // A fresh process reading the files sees the same.
      const [fresh] = run(`console.log(JSON.stringify(await new lib.MultiprocessRegistry().metrics()));`, { PROMETHEUS_MULTIPROC_DIR: dir }) as string[];
      assert.match(fresh, /^kept_total\{kind="a"\} 3\.0$/m);
    } finally {
      cleanup();
    }
  });

  it('a metric object that is not ours is served beside the files as prom-client writes it, with the default labels', () => {
    const { dir, cleanup } = tempDir();
    try {
      const [out] = run(
        `new lib.Counter({ name: 'files_total', help: 'Files.' }).inc(2);
        lib.register.registerMetric({
          name: 'custom_metric',
          get: async () => ({ name: 'custom_metric', help: 'Custom.', type: 'gauge', values: [{ value: 1.5, labels: { zone: 'b', app: 'a"q' } }] }),
        });
        lib.register.setDefaultLabels({ env: 'prod' });
        const text = await lib.register.metrics();
        const json = await lib.register.getMetricsAsJSON();
        console.log(JSON.stringify({ text, custom: json.find((m) => m.name === 'custom_metric') }));`,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      ) as Array<{ text: string; custom: { values: Array<{ labels: Record<string, string> }> } }>;
      // Label order as given, then the default labels; the merged family from the files sorted, defaults included.
      assert.match(out.text, /^custom_metric\{zone="b",app="a\\"q",env="prod"\} 1\.5$/m);
      assert.match(out.text, /^files_total\{env="prod"\} 2$/m);
      assert.deepEqual(out.custom.values[0].labels, { env: 'prod', zone: 'b', app: 'a"q' });
    } finally {
      cleanup();
    }
  });

  it('a registered metric without a series in any file is served as HELP and TYPE alone, as prom-client serves it', () => {
    const { dir, cleanup } = tempDir();
    try {
      const [out] = run(
        `new lib.Counter({ name: 'jobs', help: 'Jobs.', labelNames: ['queue'] });
        const g = new lib.Gauge({ name: 'depth', help: 'Depth.', labelNames: ['queue'], multiprocessMode: 'livesum' });
        g.set({ queue: 'a' }, 1);
        g.remove('a');
        const text = await lib.register.metrics();
        const json = await lib.register.getMetricsAsJSON();
        console.log(JSON.stringify({ text, json: json.map((m) => [m.name, m.values.length]) }));`,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      ) as Array<{ text: string; json: Array<[string, number]> }>;
      assert.equal(out.text, '# HELP depth Depth.\n# TYPE depth gauge\n\n# HELP jobs Jobs.\n# TYPE jobs counter\n');
      assert.deepEqual(out.json, [['depth', 0], ['jobs', 0]]);
    } finally {
      cleanup();
    }
  });

  it('getMetricsAsJSON() types labels as prom-client does: a bucket\'s le a number (+Inf a string), a label value given as a number a number', () => {
    const { dir, cleanup } = tempDir();
    try {
      run(`lib.configure({ processId: 'other' }); new lib.Gauge({ name: 'info', help: 'Info.', labelNames: ['major'], multiprocessMode: 'max' }).set({ major: 7 }, 1);`, { PROMETHEUS_MULTIPROC_DIR: dir });
      const [json] = run(
        `lib.configure({ processId: 'here' });
        new lib.Gauge({ name: 'info', help: 'Info.', labelNames: ['major'], multiprocessMode: 'max' }).set({ major: 20 }, 1);
        new lib.Histogram({ name: 'took', help: 'Took.', buckets: [0.5, 2] }).observe(1);
        console.log(JSON.stringify(await lib.register.getMetricsAsJSON()));`,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      ) as Array<Array<{ name: string; values: Array<{ labels: Record<string, unknown> }> }>>;
      const labelsOf = (name: string): unknown[] => json.find((m) => m.name === name)!.values.map((v) => v.labels);
      // 20 was given here as a number; 7 only by another process, whose types the files do not keep.
      assert.deepEqual(labelsOf('info'), [{ major: 20 }, { major: '7' }]);
      assert.deepEqual(labelsOf('took'), [{ le: 0.5 }, { le: 2 }, { le: '+Inf' }, {}, {}]);
    } finally {
      cleanup();
    }
  });

  it('getMetricsAsJSON() types label values made by collect() and default labels given as numbers; clusterMetrics() of an empty directory is empty', () => {
    const { dir, cleanup } = tempDir();
    try {
      const [out] = run(
        `const empty = { text: await new lib.AggregatorRegistry().clusterMetrics(), openMetrics: await new lib.AggregatorRegistry(lib.Registry.OPENMETRICS_CONTENT_TYPE).clusterMetrics() };
        new lib.Gauge({ name: 'info', help: 'Info.', labelNames: ['major'], multiprocessMode: 'max', collect() { this.set({ major: 20 }, 1); } });
        lib.register.setDefaultLabels({ instance: 0 });
        const json = await lib.register.getMetricsAsJSON();
        console.log(JSON.stringify({ empty, labels: json.find((m) => m.name === 'info').values.map((v) => v.labels) }));`,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      ) as Array<{ empty: Record<string, string>; labels: unknown[] }>;
      assert.deepEqual(out.empty, { text: '', openMetrics: '' });
      assert.deepEqual(out.labels, [{ major: 20, instance: 0 }]);
    } finally {
      cleanup();
    }
  });

  it('counter naming: declared `jobs` is `jobs` in text and `jobs_total` in OpenMetrics; naming python keeps `_total`', () => {
    const { dir, cleanup } = tempDir();
    try {
      const [prom] = run(
        `const jobs = new lib.Counter({ name: 'jobs', help: 'Jobs.' });
        jobs.inc(3);
        new lib.Counter({ name: 'runs_total', help: 'Runs.' }).inc();
        const text = await lib.register.metrics();
        lib.register.setContentType(lib.Registry.OPENMETRICS_CONTENT_TYPE);
        const openMetrics = await lib.register.metrics();
        const python = await new lib.MultiprocessRegistry({ naming: 'python' }).metrics();
        console.log(JSON.stringify({ text, openMetrics, python }));`,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      ) as Array<{ text: string; openMetrics: string; python: string }>;
      assert.match(prom.text, /^# TYPE jobs counter\njobs 3(\.0)?$/m);
      assert.match(prom.text, /^# TYPE runs_total counter\nruns_total 1(\.0)?$/m);
      assert.match(prom.openMetrics, /^# TYPE jobs counter\njobs_total 3(\.0)?$/m);
      assert.match(prom.openMetrics, /^# TYPE runs counter\nruns_total 1(\.0)?$/m);
      assert.match(prom.python, /^# TYPE jobs_total counter\njobs_total 3\.0$/m);
    } finally {
      cleanup();
    }
  });
});

interface Writer {
  child: ChildProcess;
  send(command: DropinCommand): Promise<{ collected: number }>;
}

const WORKER = path.join(__dirname, 'helpers', 'dropin-worker.ts');

async function startWriter(dir: string, name: string): Promise<Writer> {
  const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir, DROPIN_NAME: name }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`writer ${name} exited with ${code} before it was ready`)));
  });
  return {
    child,
    send: (command) =>
      new Promise((resolve) => {
        child.once('message', (reply) => resolve(reply as { collected: number }));
        child.send(command);
      }),
  };
}

/** Scrapes the directory from a fresh process, through each of prom-client's ways. */
function scrape(dir: string): { register: string; json: Array<{ name: string; values: Array<{ value: number; labels: Record<string, string> }> }>; cluster: string; custom: string } {
  const [result] = run(
    `const custom = new lib.Registry();
    // As the writers declare it (in register), and in a custom registry too.
    new lib.Counter({ name: 'requests', help: 'Requests.', labelNames: ['route'], registers: [lib.register, custom] });
    console.log(JSON.stringify({
      register: await lib.register.metrics(),
      json: await lib.register.getMetricsAsJSON(),
      cluster: await new lib.AggregatorRegistry().clusterMetrics(),
      custom: await custom.metrics(),
    }));`,
    { PROMETHEUS_MULTIPROC_DIR: dir },
  );
  return result as ReturnType<typeof scrape>;
}

/** The value of one sample line `name{labels}` in a text exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('multiprocess: prom-client code across real processes', () => {
  it('register, getMetricsAsJSON, AggregatorRegistry and a custom Registry serve the merged values; a SIGKILLed writer\'s counts stay; collect() runs in every writer; remove() withdraws', async () => {
    const { dir, cleanup } = tempDir();
    const writers: Writer[] = [];
    try {
      for (const name of ['w1', 'w2', 'w3']) writers.push(await startWriter(dir, name));
      for (const [i, writer] of writers.entries()) await writer.send({ op: 'work', times: 10 * (i + 1) });
      writers[2].child.kill('SIGKILL');
      await once(writers[2].child, 'exit');
      let first = scrape(dir);
      for (const text of [first.register, first.cluster]) {
        assert.equal(sample(text, 'requests{route="/a"}'), 60, 'all requests, the killed writer\'s included');
        assert.equal(sample(text, 'latency_seconds_count'), 60);
        assert.equal(sample(text, 'tenant_jobs_total{tenant="gone"}'), 60);
        assert.match(text, /^# TYPE requests counter$/m);
      }
      assert.equal(sample(first.custom, 'requests{route="/a"}'), 60);
      assert.doesNotMatch(first.custom, /latency|queue_depth|tenant/, 'a custom registry serves only its families');
      // The files do not say which registry a metric joined: register serves every family of the directory.
      assert.equal(sample(first.register, 'private_total'), 3, 'a family in writers\' own registries is in the directory too');
      const json = first.json.find((m) => m.name === 'requests')!;
      assert.deepEqual(json.values.map((v) => [v.labels.route, v.value]), [['/a', 60]]);

      // collect(): the scrape above announced itself; the live writers ran theirs.
      const collected = await Promise.all(writers.slice(0, 2).map((w) => w.send({ op: 'work', times: 0 })));
      assert.ok(collected.every((c) => c.collected >= 1), `collect() ran in every live writer: ${JSON.stringify(collected)}`);
      first = scrape(dir);
      assert.equal(sample(first.register, 'peak_memory'), 100, 'aggregator max: the largest value over processes');
      assert.ok((sample(first.register, 'queue_depth') ?? 0) >= 2, 'aggregator sum: the live writers\' values added');

      // remove() in the live writers: the series leaves the merged view, and with it what the killed
      // writer (dead once its lock is stale) holds of it: no live writer holds it any more.
      const past = new Date(Date.now() - 60_000);
      fs.utimesSync(path.join(dir, `${writers[2].child.pid}.lock`), past, past);
      for (const writer of writers.slice(0, 2)) await writer.send({ op: 'remove' });
      const afterRemove = scrape(dir);
      assert.equal(sample(afterRemove.register, 'tenant_jobs_total{tenant="gone"}'), undefined, "the killed writer's share leaves with the series");
      assert.equal(sample(afterRemove.register, 'tenant_jobs_total{tenant="w1"}'), 1);

      // register.clear() in a writer withdraws all its series; the others' stay.
      await writers[0].send({ op: 'clear' });
      const afterClear = scrape(dir);
      assert.equal(sample(afterClear.register, 'requests{route="/a"}'), 50, 'w1 withdrew its 10');
      assert.equal(sample(afterClear.register, 'tenant_jobs_total{tenant="w1"}'), undefined);
    } finally {
      for (const writer of writers) writer.child.kill('SIGKILL');
      cleanup();
    }
  });
});

// Code written against prom-client's index.d.ts compiles against ours unchanged (checked by `npm run typecheck`, never run):
// the usual shapes of prom-client's README and of libraries built on it.
async function promClientCodeCompiles(): Promise<void> {
  const client = await import('../src/index.js');
  const { Counter, Gauge, Histogram, Summary, Registry, register, AggregatorRegistry, Pushgateway, collectDefaultMetrics } = client;
  collectDefaultMetrics({ prefix: 'app_', labels: { app: 'shop' }, gcDurationBuckets: [0.1, 1], register });
  const counter = new Counter({ name: 'requests_total', help: 'Requests', labelNames: ['method', 'code'] as const });
  counter.inc();
  counter.inc(2);
  counter.inc({ method: 'GET' });
  counter.inc({ method: 'GET', code: 200 }, 1);
  counter.labels('GET', '200').inc();
  counter.labels({ method: 'POST' }).inc(3);
  counter.remove('GET', '200');
  counter.reset();
  const gauge = new Gauge({
    name: 'queue_depth',
    help: 'Depth',
    labelNames: ['queue'],
    aggregator: 'max',
    collect() {
      this.set({ queue: 'a' }, 1);
    },
  });
  gauge.set(1);
  gauge.inc({ queue: 'a' }, 2);
  gauge.dec();
  gauge.setToCurrentTime();
  const stop = gauge.startTimer({ queue: 'a' });
  stop({ queue: 'b' });
  gauge.labels('a').set(3);
  const histogram = new Histogram({ name: 'duration_seconds', help: 'D', labelNames: ['route'], buckets: client.linearBuckets(0.1, 0.1, 5) });
  histogram.observe(0.2);
  histogram.observe({ route: '/' }, 0.3);
  const end = histogram.startTimer();
  const seconds: number = end({ route: '/' });
  void seconds;
  histogram.zero({ route: '/x' });
  histogram.labels('/').observe(1);
  const summary = new Summary({ name: 'sizes', help: 'S', percentiles: [0.5, 0.99], maxAgeSeconds: 600, ageBuckets: 5, pruneAgedBuckets: true });
  summary.observe(10);
  const withExemplars = new Counter({ name: 'hits_total', help: 'H', enableExemplars: true, registers: [new Registry(Registry.OPENMETRICS_CONTENT_TYPE)] });
  withExemplars.inc({ value: 1, exemplarLabels: { traceId: 'x' } });
  const registry = new Registry();
  registry.registerMetric(counter);
  registry.setDefaultLabels({ app: 'shop' });
  const text: string = await registry.metrics();
  const json = await registry.getMetricsAsJSON();
  const names: string[] = json.map((m) => m.name);
  void [text, names, registry.contentType, registry.getSingleMetric('requests_total'), await registry.getSingleMetricAsString('requests_total')];
  registry.removeSingleMetric('requests_total');
  registry.resetMetrics();
  registry.clear();
  const merged = Registry.merge([registry, register]);
  void merged;
  const openMetrics = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>(Registry.OPENMETRICS_CONTENT_TYPE);
  openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const contentType: string = register.contentType;
  void [contentType, client.contentType, client.prometheusContentType, client.openMetricsContentType, client.validateMetricName('x')];
  const aggregated = AggregatorRegistry.aggregate([json]);
  void (await aggregated.metrics());
  const cluster = new AggregatorRegistry();
  void (await cluster.clusterMetrics());
  void new Pushgateway('http://127.0.0.1:9091', {}, register).pushAdd({ jobName: 'batch' });
}
void promClientCodeCompiles;
