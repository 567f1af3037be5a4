// Runtime metrics of real worker processes in one multiprocess directory:
// merged with the right mode each, refreshed by scrapes and only by them,
// surviving SIGKILL where they should and leaving with markProcessDead where
// they should, and never keeping a process alive.
import * as assert from 'node:assert/strict';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { SCRAPE_TRIGGER_FILE } from '../src/format/directory-names.js';
import { MultiprocessRegistry, markProcessDead } from '../src/index.js';
import { readEntryFile } from './helpers/read-entries.js';
import { exitOf, parseExposition, seriesKey, stopChild, type ParsedExposition } from './helpers/concurrency-checks.js';
import { tempDir } from './helpers/fixtures.js';
import { runSnippet } from './helpers/run-script.js';

const WORKER = path.join(__dirname, 'helpers', 'runtime-worker.ts');
const PROJECT_ROOT = path.join(__dirname, '..');
const TSX = ['--import', 'tsx'];
/** Only a bound for polls that should end at once: a loaded machine can be slow, and nothing is asserted about it. */
const PATIENCE_MS = 60_000;

const CPU_TOTAL = 'process_cpu_seconds_total';
const CPU_USER = 'process_cpu_user_seconds_total';
const CPU_SYSTEM = 'process_cpu_system_seconds_total';

interface Launched {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
}

function capture(child: ChildProcess): Launched {
  let stderr = '';
  let stdout = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  return { child, stderr: () => stderr, stdout: () => stdout };
}

function launchServing(dir: string): Launched {
  return capture(
    fork(WORKER, ['serve'], {
      cwd: PROJECT_ROOT,
      execArgv: TSX,
      env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }),
  );
}

function ready(launched: Launched): Promise<void> {
  return new Promise((resolve, reject) => {
    launched.child.once('message', () => resolve());
    launched.child.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before it was ready:\n${launched.stderr()}`)));
  });
}

/** Asks a serving worker to stop and waits until it has ended by itself. */
async function stopGracefully(launched: Launched): Promise<void> {
  launched.child.send('stop');
  const { code, signal } = await exitOf(launched.child);
  assert.equal(code, 0, `worker ${launched.child.pid} ended with ${code ?? signal}:\n${launched.stderr()}`);
}

async function teardown(launched: Launched[], cleanup: () => void): Promise<void> {
  for (const { child } of launched) stopChild(child);
  await Promise.all(launched.map(({ child }) => exitOf(child)));
  cleanup();
}

async function scrape(registry: MultiprocessRegistry): Promise<ParsedExposition> {
  return parseExposition(await registry.metrics());
}

function value(parsed: ParsedExposition, name: string, labels: Record<string, string> = {}): number | undefined {
  return parsed.byKey.get(seriesKey(name, labels))?.value;
}

/** Polls `probe` until it returns a value, failing with `what` if that takes unreasonably long. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + PATIENCE_MS;
  for (;;) {
    const result = await probe();
    if (result !== undefined) return result;
    if (Date.now() > deadline) assert.fail(`gave up waiting: ${what}`);
    await sleep(20);
  }
}

/** A process's own CPU seconds, read straight from its counter file (no scrape, so no refresh). */
function cpuInFile(dir: string, pid: number | string): number {
  const entry = readEntryFile(path.join(dir, `counter_${pid}.db`)).find((e) => e.sampleName === CPU_TOTAL);
  assert.ok(entry, `counter_${pid}.db has no ${CPU_TOTAL} entry`);
  return entry.value;
}

function assertClose(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-6, `${what}: ${actual} is not ${expected}`);
}

const PER_WORKER_GAUGES = [
  'process_resident_memory_bytes',
  'process_start_time_seconds',
  'process_open_fds',
  'process_max_fds',
  'nodejs_heap_size_total_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes',
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
];

const SUMMED_GAUGES: Array<[summed: string, perWorker: string]> = [
  ['process_resident_memory_summed_bytes', 'process_resident_memory_bytes'],
  ['nodejs_heap_size_total_summed_bytes', 'nodejs_heap_size_total_bytes'],
  ['nodejs_heap_size_used_summed_bytes', 'nodejs_heap_size_used_bytes'],
];

describe('runtime metrics', () => {
  it('are merged with the right mode each, and refreshed by scrapes and by nothing else', async () => {
    const { dir, cleanup } = tempDir();
    const workers = [launchServing(dir), launchServing(dir)];
    try {
      await Promise.all(workers.map(ready));
      const pids = workers.map(({ child }) => String(child.pid));
      assert.ok(fs.existsSync(path.join(dir, SCRAPE_TRIGGER_FILE)), 'the workers created the scrape trigger');

      // Before any scrape the workers keep burning CPU but write nothing: no timer refreshes.
      const idleStart = pids.map((pid) => cpuInFile(dir, pid));
      await sleep(500);
      assert.deepEqual(pids.map((pid) => cpuInFile(dir, pid)), idleStart, 'no scrape, no refresh');
      const registry = new MultiprocessRegistry({ dir });
      await registry.metrics();
      await eventually('every worker refreshed after the scrape', () => (pids.every((pid, i) => cpuInFile(dir, pid) > idleStart[i]) ? true : undefined));

      const first = await scrape(registry);

      assert.equal(first.types.get(CPU_TOTAL), 'counter');
      for (const name of [CPU_TOTAL, CPU_USER, CPU_SYSTEM]) {
        assert.ok((value(first, name) ?? 0) > 0, `${name} is summed into one series without a pid label`);
      }
      assertClose(value(first, CPU_TOTAL), value(first, CPU_USER)! + value(first, CPU_SYSTEM)!, 'total CPU is user + system');
      for (const name of PER_WORKER_GAUGES) {
        assert.equal(first.types.get(name), 'gauge', name);
        for (const pid of pids) assert.ok((value(first, name, { pid }) ?? -1) >= 0, `${name}{pid="${pid}"} is exported`);
      }
      for (const pid of pids) {
        assert.ok(value(first, 'process_resident_memory_bytes', { pid })! > 0, `resident memory of ${pid}`);
        assert.ok(value(first, 'process_open_fds', { pid })! > 0, `open descriptors of ${pid}`);
        const [major, minor, patch] = process.versions.node.split('.');
        assert.equal(value(first, 'nodejs_version_info', { pid, version: process.version, major, minor, patch }), 1, `version info of ${pid}`);
      }
      const gcCount = first.samples.find((s) => s.name === 'nodejs_gc_duration_seconds_count' && s.labels.kind === 'major');
      assert.ok(gcCount && !('pid' in gcCount.labels), 'GC pauses are a histogram summed over processes, by kind');

      // Summed gauges equal the sum of the per-worker ones of the same refresh;
      // a scrape can catch a worker between two refreshes, so look for one that did not.
      await eventually('a scrape where each summed gauge equals its per-worker sum', async () => {
        const parsed = await scrape(registry);
        const consistent = SUMMED_GAUGES.every(([summed, perWorker]) => {
          const sum = pids.reduce((total, pid) => total + value(parsed, perWorker, { pid })!, 0);
          return value(parsed, summed) === sum;
        });
        return consistent ? true : undefined;
      });

      // Each scrape asks for fresh values: a later one shows more CPU seconds of the busy workers.
      const before = value(await scrape(registry), CPU_TOTAL)!;
      await eventually('a later scrape showing more CPU seconds', async () => {
        const now = value(await scrape(registry), CPU_TOTAL)!;
        return now > before ? now : undefined;
      });

      await Promise.all(workers.map(stopGracefully));
    } finally {
      await teardown(workers, cleanup);
    }
  });

  it('keep the CPU seconds of a worker killed with SIGKILL; its per-worker gauges go with markProcessDead', async () => {
    const { dir, cleanup } = tempDir();
    const workers = [launchServing(dir), launchServing(dir)];
    try {
      await Promise.all(workers.map(ready));
      const [killed, survivor] = workers;
      const killedPid = String(killed.child.pid);
      const survivorPid = String(survivor.child.pid);
      const registry = new MultiprocessRegistry({ dir });
      const atStart = cpuInFile(dir, killedPid);
      await registry.metrics();
      await eventually('the worker to kill has refreshed after a scrape', () => (cpuInFile(dir, killedPid) > atStart ? true : undefined));

      killed.child.kill('SIGKILL');
      assert.equal((await exitOf(killed.child)).signal, 'SIGKILL');
      // Read before any later scrape: nothing can refresh or move this file any more.
      const killedCpu = cpuInFile(dir, killedPid);

      markProcessDead(killedPid, dir);
      // The survivor keeps refreshing; a scrape during which its file did not change shows exact sums.
      const marked = await eventually('a scrape during which the survivor did not refresh', async () => {
        const survivorBefore = cpuInFile(dir, survivorPid);
        const parsed = await scrape(registry);
        return cpuInFile(dir, survivorPid) === survivorBefore ? { parsed, survivorCpu: survivorBefore } : undefined;
      });
      assertClose(value(marked.parsed, CPU_TOTAL), killedCpu + marked.survivorCpu, 'CPU seconds of the killed worker are still counted');
      for (const name of [...PER_WORKER_GAUGES, 'nodejs_version_info']) {
        const series = marked.parsed.samples.filter((s) => s.name === name);
        assert.ok(series.length > 0 && series.every((s) => s.labels.pid === survivorPid), `${name}: only ${survivorPid} is left`);
      }
      await eventually('a scrape where the summed gauges are the survivor\'s own', async () => {
        const parsed = await scrape(registry);
        return SUMMED_GAUGES.every(([summed, perWorker]) => value(parsed, summed) === value(parsed, perWorker, { pid: survivorPid })) ? true : undefined;
      });

      // Once the survivor has ended too, the totals are exact: its exit wrote its last CPU seconds.
      await stopGracefully(survivor);
      const survivorCpu = cpuInFile(dir, survivorPid);
      assertClose(value(await scrape(registry), CPU_TOTAL), killedCpu + survivorCpu, 'CPU seconds of both ended workers are summed');
    } finally {
      await teardown(workers, cleanup);
    }
  });

  it('keep no process alive, and a worker that ends leaves its final CPU seconds', async () => {
    const { dir, cleanup } = tempDir();
    const runs = [
      { where: 'in a multiprocess directory', env: { PROMETHEUS_MULTIPROC_DIR: dir } },
      { where: 'in-process', env: { PROMETHEUS_MULTIPROC_DIR: '', prometheus_multiproc_dir: '' } },
    ].map(({ where, env }) => ({
      where,
      launched: capture(spawn(process.execPath, [...TSX, WORKER, 'finish'], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })),
    }));
    // Only a failing test gets here: a worker held alive by a timer would hang the run otherwise.
    const guard = setTimeout(() => runs.forEach(({ launched }) => stopChild(launched.child)), PATIENCE_MS);
    try {
      for (const { where, launched } of runs) {
        const { code, signal } = await exitOf(launched.child);
        assert.equal(code, 0, `${where}: the worker ended on its own (got ${code ?? signal}):\n${launched.stderr()}`);
      }
      const report = JSON.parse(runs[0].launched.stdout()) as { pid: number; cpuSeconds: number };
      assert.ok(
        cpuInFile(dir, report.pid) >= report.cpuSeconds - 1e-9,
        `the exit refresh wrote at least the ${report.cpuSeconds} CPU seconds the worker had before its last tick`,
      );
    } finally {
      clearTimeout(guard);
      await teardown(
        runs.map(({ launched }) => launched),
        cleanup,
      );
    }
  });

  it('fall back to a timer, logged once, when the directory cannot be watched', async () => {
    const { dir, cleanup } = tempDir();
    // A low descriptor limit lets the worker use up its table, so that inotify cannot be set up.
    const launched = capture(
      spawn('sh', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, ...TSX, WORKER, 'no-watch'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      }),
    );
    try {
      await ready(launched);
      const pid = String(launched.child.pid);
      assert.ok(!fs.existsSync(path.join(dir, SCRAPE_TRIGGER_FILE)), 'a worker that cannot watch creates no trigger');
      // No scrape at all: only the fallback timer can move these values, again and again.
      let previous = cpuInFile(dir, pid);
      for (let refreshes = 0; refreshes < 3; refreshes++) {
        previous = await eventually('a timer refresh', () => {
          const now = cpuInFile(dir, pid);
          return now > previous ? now : undefined;
        });
      }
      await stopGracefully(launched);
      const warnings = launched.stderr().split('\n').filter((line) => line.includes('cannot watch'));
      assert.equal(warnings.length, 1, `one warning, got:\n${launched.stderr()}`);
      assert.match(warnings[0], new RegExp(`cannot watch ${dir}.*EMFILE.*every 0\\.2 s`));
    } finally {
      await teardown([launched], cleanup);
    }
  });

  it('in-process: refreshed right before each collection; one collection per process', () => {
    const result = runSnippet(`
      const stop = lib.collectRuntimeMetrics({ prefix: 'app_', labels: { service: 'api' } });
      const again = lib.collectRuntimeMetrics({ prefix: 'app_', labels: { service: 'api' } });
      const refusals = [];
      for (const options of [{ prefix: 'other_' }, { labels: { pid: '1' } }]) {
        try { lib.collectRuntimeMetrics(options); refusals.push('accepted'); }
        catch (err) { refusals.push(err instanceof lib.ValidationError ? err.message : 'wrong type: ' + err); }
      }
      const registry = new lib.MultiprocessRegistry();
      let sink = 0;
      for (let i = 0; i < 3e6; i++) sink += Math.sqrt(i);
      const cpu = process.cpuUsage();
      const json = await registry.getMetricsAsJSON();
      const find = (name) => json.find((m) => m.name === name);
      stop();
      const restarted = lib.collectRuntimeMetrics({ prefix: 'app_', labels: { service: 'api' } });
      const afterRestart = (await registry.getMetricsAsJSON()).find((m) => m.name === 'app_process_cpu_seconds_total').values[0].value;
      const cpuAfter = process.cpuUsage();
      console.log(JSON.stringify({
        afterRestart,
        cpuAfter: (cpuAfter.user + cpuAfter.system) / 1e6,
        same: stop === again,
        refusals,
        cpuBefore: (cpu.user + cpu.system) / 1e6,
        cpu: find('app_process_cpu_seconds_total').values,
        rss: find('app_process_resident_memory_bytes').values,
        restarted: restarted !== stop,
      }));
      restarted();
    `);
    assert.equal(result.status, 0, result.stderr);
    const out = JSON.parse(result.stdout) as {
      same: boolean;
      refusals: string[];
      cpuBefore: number;
      cpu: Array<{ value: number; labels: Record<string, string> }>;
      rss: Array<{ value: number; labels: Record<string, string> }>;
      restarted: boolean;
      afterRestart: number;
      cpuAfter: number;
    };
    assert.equal(out.same, true, 'a second call with the same options returns the same stop function');
    assert.match(out.refusals[0], /already running in this process with other options/);
    assert.match(out.refusals[1], /label name "pid" is used by the runtime metrics themselves/);
    assert.deepEqual(out.cpu[0].labels, { service: 'api' });
    assert.ok(out.cpu[0].value >= out.cpuBefore - 1e-9, `CPU seconds ${out.cpu[0].value} are at least the ${out.cpuBefore} spent before the collection`);
    assert.equal(out.rss[0].labels.service, 'api');
    assert.ok(out.rss[0].value > 0);
    assert.equal(out.restarted, true, 'after stop() a call starts collection again');
    assert.ok(out.afterRestart <= out.cpuAfter + 1e-9, `after a restart the counter (${out.afterRestart}) counts no CPU second twice (${out.cpuAfter} spent)`);
  });

  it('a scrape of a directory without runtime metrics writes nothing into it', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await new MultiprocessRegistry({ dir }).metrics();
      assert.deepEqual(fs.readdirSync(dir), []);
    } finally {
      cleanup();
    }
  });
});
