// collectDefaultMetrics in-process: prom-client's families exactly (names,
// types, help texts, label names, aggregators and order), compared with
// prom-client's own in two child processes; and its options, refusals and
// life cycle (registries, reset, clear, multiprocess specifics).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from './helpers/fixtures.js';
import { readEntryFile } from './helpers/read-entries.js';
import { runSnippetLines } from './helpers/run-script.js';

const OURS = path.join(__dirname, '..', 'dist', 'index.js');
const CLI = path.join(__dirname, '..', 'dist', 'surfaces', 'cli.js');
const PROM_CLIENT = require.resolve('prom-client');

interface Run {
  /** register.metrics() at the second scrape (the first sets what collect() sets asynchronously). */
  text: string;
  /** register.getMetricsAsJSON() without the values, before the scrapes. */
  json: Array<{ name: string; help: string; type: string; aggregator: string }>;
  metricsList: string[];
}

/**
 * Runs collectDefaultMetrics(config) of `library` in a fresh process with
 * --expose-gc, in the same state for both libraries: stdout and stderr open
 * (two handles), a major GC after the call (a GC series), an fs request in
 * flight at the second scrape (an active request).
 */
function collectIn(library: string, config: unknown, contentType?: string): Run {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-multiproc-default-metrics-'));
  const file = path.join(dir, 'run.js');
  fs.writeFileSync(
    file,
    // stdout and stderr first: some of our dependencies open them when they load.
    `process.stdout; process.stderr;
    const lib = require(${JSON.stringify(library)});
    (async () => {
      ${contentType ? `lib.register.setContentType(${JSON.stringify(contentType)});` : ''}
      lib.collectDefaultMetrics(${JSON.stringify(config)});
      global.gc();
      // Before any OpenMetrics scrape: prom-client's renames its counters then (it strips _total from their name).
      const json = (await lib.register.getMetricsAsJSON()).map(({ name, help, type, aggregator }) => ({ name, help, type, aggregator }));
      await lib.register.metrics();
      await new Promise((resolve) => setTimeout(resolve, 50));
      require('node:fs').stat(__filename, () => {}); // an active request while collect() runs
      const text = await lib.register.metrics();
      process.stdout.write(JSON.stringify({ text, json, metricsList: lib.collectDefaultMetrics.metricsList }));
    })().catch((err) => { console.error(err); process.exit(1); });`,
  );
  try {
    const env = { ...process.env };
    delete env.PROMETHEUS_MULTIPROC_DIR;
    delete env.prometheus_multiproc_dir;
    const result = spawnSync(process.execPath, ['--expose-gc', file], { cwd: dir, env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 0, `${library}: ${result.stderr}`);
    return JSON.parse(result.stdout) as Run;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A sample line with its label values and its value left out: `name{a=,b=}`. */
function sampleShape(line: string): string {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
  assert.ok(name, `a sample line: ${JSON.stringify(line)}`);
  let at = name.length;
  const labels: string[] = [];
  if (line[at] === '{') {
    at++;
    while (line[at] !== '}') {
      const label = /^[a-zA-Z_][a-zA-Z0-9_]*="/.exec(line.slice(at))?.[0];
      assert.ok(label, `a label at column ${at} of ${JSON.stringify(line)}`);
      at += label.length;
      while (line[at] !== '"') at += line[at] === '\\' ? 2 : 1;
      at++;
      labels.push(label.slice(0, -1));
      if (line[at] === ',') at++;
    }
    at++;
  }
  assert.match(line.slice(at), /^ \S+$/, `one value after the labels of ${JSON.stringify(line)}`);
  return `${name}{${labels.join(',')}}`;
}

interface Block {
  /** The HELP and TYPE lines, as written. */
  header: string;
  /** The shapes of its sample lines, each once, sorted: series of other label values have the same shape. */
  shapes: string[];
  /** The lines after its samples (blank lines, # EOF), as written. */
  trailer: string;
}

/** The exposition as families in order, each reduced to what does not depend on the values. */
function shapeOf(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; ) {
    assert.match(lines[i], /^# HELP /, `line ${i + 1} starts a family: ${JSON.stringify(lines[i])}`);
    const header = `${lines[i]}\n${lines[i + 1]}`;
    assert.match(lines[i + 1], /^# TYPE /);
    i += 2;
    const shapes = new Set<string>();
    while (i < lines.length && lines[i] !== '' && !lines[i].startsWith('#')) shapes.add(sampleShape(lines[i++]));
    const trailer: string[] = [];
    while (i < lines.length && !lines[i].startsWith('# HELP ')) trailer.push(lines[i++]);
    blocks.push({ header, shapes: [...shapes].sort(), trailer: trailer.join('\n') });
  }
  return blocks;
}

const CONFIGS: Array<[what: string, config: unknown, contentType?: string]> = [
  ['no configuration', undefined],
  ['prefix, labels, GC buckets and precision', { prefix: 'app_', labels: { service: 'api', NODE_APP_INSTANCE: 0 }, gcDurationBuckets: [0.1, 0.2, 0.3], eventLoopMonitoringPrecision: 5 }],
  ['OpenMetrics, with labels', { labels: { service: 'api' } }, 'application/openmetrics-text; version=1.0.0; charset=utf-8'],
];

describe('collectDefaultMetrics in-process is prom-client\'s', () => {
  for (const [what, config, contentType] of CONFIGS) {
    it(`${what}: the same families, in the same order, with the same help, types, label names, aggregators and layout`, () => {
      const theirs = collectIn(PROM_CLIENT, config, contentType);
      const ours = collectIn(OURS, config, contentType);
      assert.deepEqual(
        ours.json.map((m) => m.name),
        theirs.json.map((m) => m.name),
        'the families, in order',
      );
      assert.deepEqual(ours.json, theirs.json, 'names, help texts, types and aggregators');
      const ourBlocks = shapeOf(ours.text);
      const theirBlocks = shapeOf(theirs.text);
      assert.deepEqual(ourBlocks.map((b) => b.header), theirBlocks.map((b) => b.header), 'HELP and TYPE lines, in order');
      for (const [i, block] of ourBlocks.entries()) {
        const other = theirBlocks[i];
        assert.deepEqual(block.shapes, other.shapes, `the sample lines of ${block.header.split('\n')[0]}`);
        assert.equal(block.trailer, other.trailer, `what follows ${block.header.split('\n')[0]}`);
      }
      for (const family of ['nodejs_gc_duration_seconds', 'nodejs_active_handles', 'nodejs_active_requests', 'nodejs_active_resources']) {
        const block = ourBlocks.find((b) => new RegExp(`^# TYPE [a-z_]*${family} `, 'm').test(b.header));
        assert.ok(block && block.shapes.length > 0, `${family} has series to compare`);
      }
      assert.deepEqual(ours.metricsList, theirs.metricsList, 'collectDefaultMetrics.metricsList');
    });
  }
});

describe('collectDefaultMetrics options and life cycle', () => {
  it('refuses wrong options before it registers anything, and a second call into one registry', () => {
    const lines = runSnippetLines(`
      const refused = [
        ['not an object', 'x'],
        ['prefix', { prefix: '1x' }],
        ['a label of its own', { labels: { type: 'web' } }],
        ['a label name', { labels: { 'a-b': '1' } }],
        ['a label value', { labels: { service: {} } }],
        ['precision', { eventLoopMonitoringPrecision: 0.5 }],
        ['buckets', { gcDurationBuckets: [1, 0.5] }],
        ['register', { register: {} }],
      ];
      for (const [what, config] of refused) {
        try { lib.collectDefaultMetrics(config); console.log(JSON.stringify({ what, accepted: true })); }
        catch (err) { console.log(JSON.stringify({ what, error: err.constructor.name, message: err.message, registered: lib.register.getMetricsAsArray().length })); }
      }
      lib.collectDefaultMetrics();
      const count = lib.register.getMetricsAsArray().length;
      try { lib.collectDefaultMetrics(); } catch (err) { console.log(JSON.stringify({ what: 'twice', error: err.constructor.name, message: err.message, registered: lib.register.getMetricsAsArray().length - count })); }
      lib.register.clear();
      lib.register.registerMetric(new lib.Gauge({ name: 'process_open_fds', help: 'mine', registers: [] }));
      try { lib.collectDefaultMetrics(); } catch (err) { console.log(JSON.stringify({ what: 'a name taken', error: err.constructor.name, message: err.message, registered: lib.register.getMetricsAsArray().length - 1 })); }
      lib.register.clear();
      lib.collectRuntimeMetrics()();
      try { lib.collectDefaultMetrics(); } catch (err) { console.log(JSON.stringify({ what: 'beside collectRuntimeMetrics', error: err.constructor.name, message: err.message })); }
    `) as Array<{ what: string; error?: string; message?: string; registered?: number; accepted?: boolean }>;
    const byWhat = new Map(lines.map((line) => [line.what, line]));
    const expected: Record<string, RegExp> = {
      'not an object': /config must be null, undefined, or an object/,
      prefix: /prefix must be a string that starts valid metric names/,
      'a label of its own': /label name "type" is used by the default metrics themselves/,
      'a label name': /invalid label name "a-b"/,
      'a label value': /value of label "service" must be a string or number/,
      precision: /eventLoopMonitoringPrecision must be a whole number of milliseconds >= 1/,
      buckets: /gcDurationBuckets must be finite numbers in increasing order/,
      register: /register must be a Registry/,
      twice: /^A metric with the name process_cpu_user_seconds_total has already been registered\.$/,
      'a name taken': /^A metric with the name process_open_fds has already been registered\.$/,
      'beside collectRuntimeMetrics': /^A metric with the name process_cpu_user_seconds_total has already been registered\.$/,
    };
    for (const [what, message] of Object.entries(expected)) {
      const line = byWhat.get(what);
      assert.ok(line && !line.accepted, `${what}: refused`);
      assert.equal(line.error, 'ValidationError', `${what}: ${line.message}`);
      assert.match(line.message!, message, what);
      if (line.registered !== undefined) assert.equal(line.registered, 0, `${what}: nothing was registered`);
    }
  });

  it('registers into the registry given, applies prefix, labels and buckets, and survives reset and clear', () => {
    const [out] = runSnippetLines(`
      const registry = new lib.Registry();
      lib.collectDefaultMetrics({ register: registry, prefix: 'app_', labels: { NODE_APP_INSTANCE: 0 }, gcDurationBuckets: [0.5, 1] });
      const inDefault = (await lib.register.getMetricsAsJSON()).length;
      global.gc?.();
      new Array(1e6).fill(0).map(String);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const json = await registry.getMetricsAsJSON();
      registry.resetMetrics();
      const afterReset = (await registry.getMetricsAsJSON()).find((m) => m.name === 'app_nodejs_version_info').values;
      registry.clear();
      lib.collectDefaultMetrics({ register: registry });
      const again = (await registry.getMetricsAsJSON()).length;
      console.log(JSON.stringify({
        inDefault,
        names: json.map((m) => m.name),
        unlabelled: json.flatMap((m) => m.values.filter((v) => v.labels.NODE_APP_INSTANCE !== 0).map((v) => m.name)),
        les: json.find((m) => m.name === 'app_nodejs_gc_duration_seconds').values.filter((v) => v.metricName.endsWith('_bucket')).map((v) => v.labels.le),
        afterReset,
        again,
        count: json.length,
      }));
    `) as Array<{ inDefault: number; names: string[]; unlabelled: string[]; les: unknown[]; afterReset: Array<{ value: number; labels: Record<string, unknown> }>; again: number; count: number }>;
    assert.equal(out.inDefault, 0, 'nothing in the default registry');
    assert.ok(out.names.length > 30 && out.names.every((name) => name.startsWith('app_')), `every name has the prefix: ${out.names.join(', ')}`);
    assert.deepEqual(out.unlabelled, [], 'every value has the static label, as given (a number)');
    assert.ok(out.les.length > 0 && out.les.every((le, i) => le === [0.5, 1, '+Inf'][i % 3]), `the GC buckets given: ${JSON.stringify(out.les)}`);
    assert.equal(out.afterReset.length, 1, 'the version is back after resetMetrics(), set by collect()');
    assert.equal(out.afterReset[0].value, 1);
    assert.equal(typeof out.afterReset[0].labels.major, 'number', 'major, minor and patch are numbers, as in prom-client');
    assert.equal(out.again, out.count, 'after clear() the metrics can be collected again');
  });

  it('multiprocess: pid is refused as a label; a second set of metrics (another registry, or after clear()) counts CPU seconds and GC pauses once', () => {
    const { dir, cleanup } = tempDir();
    try {
      const [out] = runSnippetLines(
        `
        let pidRefused = '';
        try { lib.collectDefaultMetrics({ labels: { pid: '1' } }); } catch (err) { pidRefused = err.message; }
        const registered = lib.register.getMetricsAsArray().length;
        lib.collectDefaultMetrics();
        const other = new lib.Registry();
        lib.collectDefaultMetrics({ register: other });
        lib.register.clear();
        lib.collectDefaultMetrics();
        let sink = 0;
        for (let round = 0; round < 5; round++) {
          for (let i = 0; i < 2e6; i++) sink += Math.sqrt(i);
          global.gc();
          await new Promise((resolve) => setTimeout(resolve, 20));
          await lib.register.metrics();
        }
        const text = await new lib.MultiprocessRegistry().metrics();
        const cpu = process.cpuUsage();
        const value = (name) => Number(new RegExp('^' + name + ' (\\\\S+)$', 'm').exec(text)[1]);
        console.log(JSON.stringify({
          pidRefused,
          registered,
          cpu: value('process_cpu_seconds_total'),
          spent: (cpu.user + cpu.system) / 1e6,
          majorGcs: value('nodejs_gc_duration_seconds_count\\\\{kind="major"\\\\}'),
          text,
        }));
      `,
        { PROMETHEUS_MULTIPROC_DIR: dir, NODE_OPTIONS: '--expose-gc' },
      ) as Array<{ pidRefused: string; registered: number; cpu: number; spent: number; majorGcs: number; text: string }>;
      assert.match(out.pidRefused, /label name "pid" is used by the default metrics themselves/);
      assert.equal(out.registered, 0);
      assert.ok(out.cpu > 0 && out.cpu <= out.spent + 1e-6, `CPU seconds ${out.cpu} counted once (the process spent ${out.spent})`);
      // Five gc() calls, each one major GC (V8 may add its own): three sets of metrics would count them three times.
      assert.ok(out.majorGcs >= 5 && out.majorGcs < 10, `major GCs counted once each: ${out.majorGcs}\n${out.text}`);
    } finally {
      cleanup();
    }
  });

  it('multiprocess: after register.clear() the default metrics leave, and scrapes by other processes do not bring them back', () => {
    const { dir, cleanup } = tempDir();
    try {
      const [out] = runSnippetLines(
        `
        const { execFileSync } = require('node:child_process');
        const scrapeElsewhere = () => execFileSync(process.execPath, [${JSON.stringify(CLI)}, 'metrics', '--dir', ${JSON.stringify(dir)}], { encoding: 'utf8' });
        lib.collectDefaultMetrics();
        const before = scrapeElsewhere();
        await lib.register.metrics();
        lib.register.clear();
        scrapeElsewhere(); // announces a scrape: this process's collect() callbacks would run now
        await new Promise((resolve) => setTimeout(resolve, 300));
        console.log(JSON.stringify({ before, after: scrapeElsewhere(), here: await lib.register.metrics() }));
      `,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      ) as Array<{ before: string; after: string; here: string }>;
      assert.match(out.before, /^nodejs_heap_size_used_bytes\{pid="\d+"\} /m, 'served while collected');
      for (const text of [out.after, out.here]) {
        assert.doesNotMatch(text, /^(process|nodejs)_\w+\{pid=/m, `no per-process default metric is left:\n${text}`);
        assert.doesNotMatch(text, /^nodejs_version_info/m);
      }
    } finally {
      cleanup();
    }
  });

  it('multiprocess: a worker thread writes its own isolate\'s figures; what is the whole process\'s comes from the main thread only', () => {
    const { dir, cleanup } = tempDir();
    try {
      const [out] = runSnippetLines(
        `
        const { Worker } = require('node:worker_threads');
        lib.collectDefaultMetrics();
        const worker = new Worker(${JSON.stringify(`require(${JSON.stringify(OURS)}).collectDefaultMetrics(); require('node:worker_threads').parentPort.postMessage('ready'); setInterval(() => {}, 1000);`)}, { eval: true });
        await new Promise((resolve) => worker.once('message', resolve));
        let text = '';
        for (let i = 0; i < 500 && !/^nodejs_heap_size_used_bytes\\{pid="\\d+-t\\d+"\\}/m.test(text); i++) {
          text = await lib.register.metrics();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const cpu = process.cpuUsage();
        console.log(JSON.stringify({ text, pid: process.pid, threadId: worker.threadId, spent: (cpu.user + cpu.system) / 1e6 }));
        await worker.terminate();
      `,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      ) as Array<{ text: string; pid: number; threadId: number; spent: number }>;
      const pidsOf = (name: string): string[] =>
        [...out.text.matchAll(new RegExp(`^${name}\\{pid="([^"]+)"\\}`, 'gm'))].map((match) => match[1]).sort();
      const thread = `${out.pid}-t${out.threadId}`;
      for (const name of ['nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_active_handles_total']) {
        assert.deepEqual(pidsOf(name), [String(out.pid), thread].sort(), `${name}: the main thread's and the worker thread's`);
      }
      for (const name of ['process_start_time_seconds', 'process_resident_memory_bytes', 'process_open_fds']) {
        assert.deepEqual(pidsOf(name), [String(out.pid)], `${name}: the main thread's only`);
      }
      const cpu = Number(/^process_cpu_seconds_total (\S+)$/m.exec(out.text)![1]);
      assert.ok(cpu <= out.spent + 1e-6, `CPU seconds ${cpu} counted once for the process (it spent ${out.spent})`);
    } finally {
      cleanup();
    }
  });

  it('multiprocess: a process that exits normally leaves its last CPU seconds in its file, without any scrape', () => {
    const { dir, cleanup } = tempDir();
    try {
      const [out] = runSnippetLines(
        `
        lib.collectDefaultMetrics();
        let sink = 0;
        for (let i = 0; i < 5e6; i++) sink += Math.sqrt(i);
        const cpu = process.cpuUsage();
        console.log(JSON.stringify({ pid: process.pid, spent: (cpu.user + cpu.system) / 1e6 }));
      `,
        { PROMETHEUS_MULTIPROC_DIR: dir },
      ) as Array<{ pid: number; spent: number }>;
      const entry = readEntryFile(path.join(dir, `counter_${out.pid}.db`)).find((e) => e.sampleName === 'process_cpu_seconds_total');
      assert.ok(entry && entry.value >= out.spent - 1e-9, `the exit wrote ${entry?.value} CPU seconds, at least the ${out.spent} spent before`);
    } finally {
      cleanup();
    }
  });
});
