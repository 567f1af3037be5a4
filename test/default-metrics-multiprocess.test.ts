// collectDefaultMetrics() in a multiprocess directory, end to end: three
// forked workers and this test's own process (the parent) collect; the
// parent scrapes through `register` and through a MultiprocessRegistry. The
// workers refresh their values when a scrape announces itself; one worker is
// SIGKILLed, its per-process series leave within the liveness timeout, and
// its CPU seconds stay counted.
import * as assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { collectDefaultMetrics, configure, MultiprocessRegistry, register, Registry } from '../src/index.js';
import { exitOf, parseExposition, stopChild, type ParsedExposition } from './helpers/concurrency-checks.js';
import { tempDir } from './helpers/fixtures.js';
import { skipUnlessInstalled } from './helpers/programs.js';
import { assertOpenMetricsParses, assertPromtoolParses } from './helpers/promtool.js';
import { readEntryFile } from './helpers/read-entries.js';

const WORKER = path.join(__dirname, 'helpers', 'default-metrics-worker.ts');
const LIVENESS_TIMEOUT_MS = 2000;
/** Only a bound for polls that should end soon: a loaded machine can be slow. */
const PATIENCE_MS = 60_000;

const CPU = ['process_cpu_user_seconds_total', 'process_cpu_system_seconds_total', 'process_cpu_seconds_total'];
/** Gauges of one series per live process (Linux, Node.js 20). */
const ONE_PER_PROCESS = [
  'process_start_time_seconds',
  'process_resident_memory_bytes',
  'process_virtual_memory_bytes',
  'process_heap_bytes',
  'process_open_fds',
  'process_max_fds',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_active_resources_total',
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_heap_size_total_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes',
];
/** Gauges of several series per live process, by this label. */
const BY_LABEL_PER_PROCESS: Array<[name: string, label: string]> = [
  ['nodejs_active_resources', 'type'],
  ['nodejs_active_handles', 'type'],
  ['nodejs_active_requests', 'type'],
  ['nodejs_heap_space_size_total_bytes', 'space'],
  ['nodejs_heap_space_size_used_bytes', 'space'],
  ['nodejs_heap_space_size_available_bytes', 'space'],
];
const VERSION = 'nodejs_version_info';
const GC = 'nodejs_gc_duration_seconds';
const ALL_FAMILIES = [...CPU, ...ONE_PER_PROCESS, ...BY_LABEL_PER_PROCESS.map(([name]) => name), VERSION, GC];

const { dir, cleanup } = tempDir('prom-multiproc-default-metrics-');
process.env.PROMETHEUS_MULTIPROC_DIR = dir;
configure({ livenessTimeoutMs: LIVENESS_TIMEOUT_MS });
collectDefaultMetrics(); // the parent collects too

const workers: ChildProcess[] = [];
after(async () => {
  for (const child of workers) stopChild(child);
  await Promise.all(workers.map(exitOf));
  cleanup();
});

function startWorker(): Promise<ChildProcess> {
  let stderr = '';
  const child = fork(WORKER, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir },
    stdio: ['pipe', 'ignore', 'pipe', 'ipc'],
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  workers.push(child);
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before it was ready:\n${stderr}`)));
  });
}

/** A worker's own CPU seconds now, as it tells them. */
function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve((message as { cpu: number }).cpu));
    child.send('cpu');
  });
}

function ownCpu(): number {
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1e6;
}

/** Polls `probe` until it returns a value, failing with `what` if that takes unreasonably long. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + PATIENCE_MS;
  for (;;) {
    const result = await probe();
    if (result !== undefined) return result;
    if (Date.now() > deadline) assert.fail(`gave up waiting: ${what}`);
    await sleep(20);
  }
}

const samplesOf = (parsed: ParsedExposition, name: string) => parsed.samples.filter((s) => s.name === name);
const pidsOf = (parsed: ParsedExposition, name: string): string[] => samplesOf(parsed, name).map((s) => s.labels.pid);
const sorted = (values: Iterable<string>): string[] => [...values].sort();
const cpuTotal = (parsed: ParsedExposition): number => samplesOf(parsed, 'process_cpu_seconds_total')[0]?.value ?? 0;

/**
 * Whether every one-per-process gauge has exactly the series of `pids`, and
 * each of them its heap spaces (a worker's first refresh may be half written
 * when a scrape reads it).
 */
function perProcessSeriesAre(parsed: ParsedExposition, pids: readonly string[]): boolean {
  const same = (found: Iterable<string>): boolean => JSON.stringify(sorted(found)) === JSON.stringify(sorted(pids));
  return (
    ONE_PER_PROCESS.every((name) => same(pidsOf(parsed, name))) &&
    BY_LABEL_PER_PROCESS.filter(([, label]) => label === 'space').every(([name]) =>
      same(samplesOf(parsed, name).filter((s) => s.labels.space === 'old').map((s) => s.labels.pid)),
    )
  );
}

/** The checks every scrape of the live set `pids` passes, whichever registry serves it. */
function assertShape(parsed: ParsedExposition, pids: readonly string[], via: string): void {
  for (const name of ALL_FAMILIES) assert.ok(parsed.types.has(name), `${via}: family ${name} is there`);
  for (const name of CPU) {
    assert.equal(parsed.types.get(name), 'counter', name);
    const samples = samplesOf(parsed, name);
    assert.equal(samples.length, 1, `${via}: ${name} is one series, summed over the processes`);
    assert.deepEqual(samples[0].labels, {}, `${via}: ${name} has no pid label`);
  }
  for (const name of ONE_PER_PROCESS) {
    assert.equal(parsed.types.get(name), 'gauge', name);
    assert.deepEqual(sorted(pidsOf(parsed, name)), sorted(pids), `${via}: ${name} has one series per live process`);
  }
  for (const [name, label] of BY_LABEL_PER_PROCESS) {
    const samples = samplesOf(parsed, name);
    assert.ok(samples.length > 0, `${via}: ${name} has series`);
    for (const sample of samples) {
      assert.deepEqual(Object.keys(sample.labels).sort(), [label, 'pid'].sort(), `${via}: ${name} is labelled by ${label} and pid`);
      assert.ok(pids.includes(sample.labels.pid), `${via}: ${name}{pid="${sample.labels.pid}"} is a live process's`);
    }
  }
  for (const pid of pids) {
    const spaces = samplesOf(parsed, 'nodejs_heap_space_size_used_bytes').filter((s) => s.labels.pid === pid);
    assert.ok(spaces.some((s) => s.labels.space === 'old'), `${via}: the old space of ${pid}`);
  }
  const version = samplesOf(parsed, VERSION);
  const [major, minor, patch] = process.versions.node.split('.');
  assert.deepEqual(version, [{ name: VERSION, labels: { version: process.version, major, minor, patch }, value: 1 }], `${via}: one version series for all processes`);
  const gcCount = samplesOf(parsed, `${GC}_count`);
  assert.ok(gcCount.length > 0 && gcCount.every((s) => Object.keys(s.labels).join() === 'kind'), `${via}: GC pauses summed over processes, by kind`);
}

describe('collectDefaultMetrics in a multiprocess directory', () => {
  it('forked workers and the parent: every family, per-process gauges per live process, CPU summed; a killed worker leaves', async (t) => {
    await Promise.all([startWorker(), startWorker(), startWorker()]);
    const pids = [String(process.pid), ...workers.map((child) => String(child.pid))];
    const mp = new MultiprocessRegistry();

    // A scrape asks every worker for fresh values: soon every one of them has its series.
    const first = await eventually('a scrape with the series of every process', async () => {
      const parsed = parseExposition(await register.metrics());
      return perProcessSeriesAre(parsed, pids) ? parsed : undefined;
    });
    assertShape(first, pids, 'register.metrics()');
    assertShape(parseExposition(await mp.metrics()), pids, 'MultiprocessRegistry.metrics()');

    // CPU seconds: at least what every live process had spent before the scrapes that refreshed them.
    const spent = (await Promise.all(workers.map(cpuOf))).reduce((sum, cpu) => sum + cpu, ownCpu());
    const total = await eventually('a scrape counting the CPU seconds the processes told', async () => {
      const value = cpuTotal(parseExposition(await register.metrics()));
      return value >= spent ? value : undefined;
    });
    assert.ok(total >= spent);

    // promtool reads both formats of both registries.
    if (!skipUnlessInstalled('promtool')) {
      assertPromtoolParses(await register.metrics());
      assertPromtoolParses(await mp.metrics());
      const work = tempDir('prom-multiproc-default-metrics-om-');
      try {
        assertOpenMetricsParses(await new MultiprocessRegistry({ contentType: Registry.OPENMETRICS_CONTENT_TYPE }).metrics(), work.dir);
      } finally {
        work.cleanup();
      }
    }

    // SIGKILL one worker: its per-process series leave once its liveness lock is stale; its CPU seconds stay.
    const [killed, ...survivors] = workers;
    const killedPid = String(killed.pid);
    killed.kill('SIGKILL');
    assert.equal((await exitOf(killed)).signal, 'SIGKILL');
    const killedAt = Date.now();
    const killedCpu = readEntryFile(path.join(dir, `counter_${killedPid}.db`)).find((e) => e.sampleName === 'process_cpu_seconds_total')!.value;
    assert.ok(killedCpu > 0, 'the killed worker had written CPU seconds');
    const live = pids.filter((pid) => pid !== killedPid);
    const afterKill = await eventually('a scrape without the killed worker', async () => {
      const parsed = parseExposition(await register.metrics());
      return perProcessSeriesAre(parsed, live) ? parsed : undefined;
    });
    const gone = Date.now() - killedAt;
    t.diagnostic(`the killed worker's series left ${gone} ms after the kill`);
    assert.ok(gone <= 2 * LIVENESS_TIMEOUT_MS, `the killed worker's series left ${gone} ms after the kill (liveness timeout ${LIVENESS_TIMEOUT_MS} ms)`);
    assertShape(afterKill, live, 'register.metrics() after the kill');
    for (const name of [...ONE_PER_PROCESS, ...BY_LABEL_PER_PROCESS.map(([n]) => n)]) {
      assert.ok(!pidsOf(afterKill, name).includes(killedPid), `${name}: no series of the killed worker`);
    }
    assertShape(parseExposition(await mp.metrics()), live, 'MultiprocessRegistry.metrics() after the kill');

    const liveSpent = (await Promise.all(survivors.map(cpuOf))).reduce((sum, cpu) => sum + cpu, ownCpu());
    await eventually('a scrape counting the killed worker and what the live ones told', async () => {
      const value = cpuTotal(parseExposition(await register.metrics()));
      return value >= killedCpu + liveSpent ? value : undefined;
    });
  });
});
