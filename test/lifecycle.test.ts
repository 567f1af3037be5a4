import * as assert from 'node:assert/strict';
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MultiprocessRegistry, clearMultiprocDir, compact, markProcessDead, ConfigError } from '../src/index.js';
import { COMPACTION_GRACE } from '../src/storage/compaction.js';
import { readEntryFile } from './helpers/read-entries.js';
import type { LifecycleCommand } from './helpers/lifecycle-worker.js';
import { tempDir } from './helpers/fixtures.js';
import { ageLocks, quietRegistry } from './helpers/directory.js';
import { currentLayoutFile, pythonKey } from './helpers/db-files.js';

const WORKER = path.join(__dirname, 'helpers', 'lifecycle-worker.ts');
const TIMEOUT_MS = 2000;

interface Writer {
  child: ChildProcess;
  pid: number;
  send(command: LifecycleCommand): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startWriter(dir: string, processId?: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Writer> {
  const child = fork(WORKER, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir, LIFECYCLE_PROCESS_ID: processId ?? '', LIFECYCLE_TIMEOUT_MS: String(TIMEOUT_MS), ...extraEnv },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`writer exited with ${code} before it was ready`)));
  });
  return {
    child,
    pid: child.pid!,
    exited,
    send: (command) =>
      new Promise<void>((resolve, reject) => {
        if (command.op === 'exit') {
          child.send(command);
          exited.then(() => resolve(), reject);
          return;
        }
        child.once('message', () => resolve());
        child.send(command);
      }),
  };
}

async function killed(writer: Writer): Promise<void> {
  writer.child.kill('SIGKILL');
  const { signal } = await writer.exited;
  assert.equal(signal, 'SIGKILL');
}


/** Sample lines, without the collector's own counter. */
async function samples(registry: MultiprocessRegistry): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((line) => line && !line.startsWith('#') && !line.startsWith('prom_multiproc_'));
}

function value(lines: string[], series: string): number | undefined {
  const line = lines.find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}


describe('liveness', () => {
  it('live gauges of a writer killed with SIGKILL disappear on their own within the liveness timeout; its counts stay', async () => {
    const { dir, cleanup } = tempDir();
    const writers: Writer[] = [];
    try {
      writers.push(await startWriter(dir), await startWriter(dir));
      for (const w of writers) {
        await w.send({ op: 'count', times: 10 });
        await w.send({ op: 'set', value: 3 });
      }
      const registry = quietRegistry(dir);
      let lines = await samples(registry);
      assert.equal(value(lines, 'inflight'), 6);
      assert.equal(value(lines, `per_worker{pid="${writers[0].pid}"}`), 3);
      await killed(writers[0]);
      // Wait out one timeout (plus the lock's refresh granularity): no markProcessDead call.
      const deadline = Date.now() + 3 * TIMEOUT_MS + 2000;
      while (Date.now() < deadline && value(await samples(registry), 'inflight') !== 3) await sleep(200);
      lines = await samples(registry);
      assert.equal(value(lines, 'inflight'), 3, 'the killed writer no longer adds to the livesum gauge');
      assert.equal(value(lines, `per_worker{pid="${writers[0].pid}"}`), undefined);
      assert.equal(value(lines, `all_mode{pid="${writers[0].pid}"}`), undefined, 'per-process gauges of dead writers go too');
      assert.equal(value(lines, `per_worker{pid="${writers[1].pid}"}`), 3);
      assert.equal(value(lines, 'jobs_total{kind="done"}'), 20, "the dead writer's counts are kept");
      assert.equal(value(lines, 'peak'), 3);
    } finally {
      for (const w of writers) w.child.kill('SIGKILL');
      cleanup();
    }
  });

  it('a writer that exits cleanly is dead at once', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const writer = await startWriter(dir);
      await writer.send({ op: 'set', value: 5 });
      const registry = quietRegistry(dir);
      assert.equal(value(await samples(registry), 'inflight'), 5);
      await writer.send({ op: 'exit' });
      assert.equal(value(await samples(registry), 'inflight'), undefined);
      assert.equal(value(await samples(registry), 'total'), 5, 'a sum gauge keeps a dead writer, as in Python');
    } finally {
      cleanup();
    }
  });

  it('files without our liveness marker (a Python writer) count as alive until markProcessDead', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const key = pythonKey('py_inflight', 'py_inflight', {}, 'From Python.');
      fs.writeFileSync(path.join(dir, 'gauge_livesum_9999.db'), currentLayoutFile([{ key, value: 4 }]));
      const registry = quietRegistry(dir);
      assert.equal(value(await samples(registry), 'py_inflight'), 4);
      markProcessDead(9999, dir);
      assert.equal(value(await samples(registry), 'py_inflight'), undefined);
    } finally {
      cleanup();
    }
  });
});

describe('pid reuse: a new life of a file id never inherits the old one', () => {
  it('after a clean exit, the same processId is claimed again and the old files are compacted first', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const first = await startWriter(dir, 'web1');
      await first.send({ op: 'count', times: 5 });
      await first.send({ op: 'set', value: 7 });
      await first.send({ op: 'exit' });
      const second = await startWriter(dir, 'web1');
      await second.send({ op: 'count', times: 2 });
      const lines = await samples(quietRegistry(dir));
      assert.equal(value(lines, 'jobs_total{kind="done"}'), 7, 'counts of both lives, none twice');
      assert.equal(value(lines, 'inflight'), 0, "the new life's own gauge, not the old 7");
      assert.equal(value(lines, 'per_worker{pid="web1"}'), 0);
      assert.ok(fs.existsSync(path.join(dir, 'counter_compacted.db')));
      await second.send({ op: 'exit' });
    } finally {
      cleanup();
    }
  });

  it('while the old life looks alive (killed, lock not yet stale), the new one writes under a suffixed id', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const first = await startWriter(dir, 'web1');
      await first.send({ op: 'count', times: 5 });
      await first.send({ op: 'set', value: 7 });
      await killed(first);
      const second = await startWriter(dir, 'web1');
      await second.send({ op: 'count', times: 2 });
      await second.send({ op: 'set', value: 1 });
      assert.ok(fs.existsSync(path.join(dir, 'counter_web1-2.db')), fs.readdirSync(dir).join(' '));
      ageLocks(dir, 60000, ['web1']);
      const registry = quietRegistry(dir);
      let lines = await samples(registry);
      assert.equal(value(lines, 'jobs_total{kind="done"}'), 7);
      assert.equal(value(lines, 'inflight'), 1);
      assert.deepEqual(compact(dir)?.compacted, ['web1']);
      lines = await samples(registry);
      assert.equal(value(lines, 'jobs_total{kind="done"}'), 7);
      assert.equal(value(lines, 'inflight'), 1);
      await second.send({ op: 'exit' });
    } finally {
      cleanup();
    }
  });
});

describe('compaction', () => {
  it('merges dead writers into accumulated files: the scrape is the same before and after, the directory shrinks', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const live = await startWriter(dir);
      await live.send({ op: 'count', times: 1 });
      await live.send({ op: 'set', value: 2 });
      for (let i = 0; i < 3; i++) {
        const w = await startWriter(dir);
        await w.send({ op: 'count', times: 10 * (i + 1) });
        await w.send({ op: 'set', value: 10 + i });
        await w.send({ op: 'exit' });
      }
      const registry = quietRegistry(dir);
      const before = await samples(registry);
      const filesBefore = fs.readdirSync(dir).filter((f) => f.endsWith('.db')).length;
      const result = compact(dir);
      assert.equal(result?.compacted.length, 3);
      const after = await samples(registry);
      assert.deepEqual(after, before);
      assert.deepEqual(await samples(quietRegistry(dir)), before, 'a fresh collector agrees');
      assert.equal(value(after, 'jobs_total{kind="done"}'), 61);
      assert.equal(value(after, 'peak'), 12);
      assert.equal(value(after, 'low'), 2);
      assert.equal(value(after, 'total'), 2 + 10 + 11 + 12);
      assert.equal(value(after, 'last'), 12);
      const names = fs.readdirSync(dir);
      assert.ok(names.filter((f) => f.endsWith('.db')).length < filesBefore);
      assert.deepEqual(names.filter((f) => f.endsWith('.writer')), [`${live.pid}.writer`], 'dead writers leave no marker');
      // The accumulated files are plain multiprocess files (Python reads them).
      for (const name of names.filter((f) => f.includes('_compacted.db'))) readEntryFile(path.join(dir, name));
      assert.deepEqual(names.filter((f) => f.includes('_compacted.db')).sort(), [
        'counter_compacted.db',
        'gauge_max_compacted.db',
        'gauge_min_compacted.db',
        'gauge_mostrecent_compacted.db',
        'gauge_sum_compacted.db',
        'histogram_compacted.db',
      ]);
      // A second round adds to the accumulated files.
      const w = await startWriter(dir);
      await w.send({ op: 'count', times: 4 });
      await w.send({ op: 'exit' });
      compact(dir);
      assert.equal(value(await samples(registry), 'jobs_total{kind="done"}'), 65);
      await live.send({ op: 'exit' });
    } finally {
      cleanup();
    }
  });

  for (const step of ['after-temporaries', 'after-journal', 'after-first-install', 'after-first-remove', 'before-done'] as const) {
    it(`a compaction killed with SIGKILL ${step.replace(/-/g, ' ')} loses and double-counts nothing`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        for (let i = 0; i < 3; i++) {
          const w = await startWriter(dir);
          await w.send({ op: 'count', times: i + 1 });
          await w.send({ op: 'set', value: i });
          await w.send({ op: 'exit' });
        }
        // A first compaction, so the killed one also has accumulated files to replace.
        compact(dir);
        for (let i = 0; i < 2; i++) {
          const w = await startWriter(dir);
          await w.send({ op: 'count', times: 10 });
          await w.send({ op: 'set', value: 5 });
          await w.send({ op: 'exit' });
        }
        const longLived = quietRegistry(dir);
        const expected = await samples(longLived);
        assert.equal(value(expected, 'jobs_total{kind="done"}'), 26);
        const run = spawnSync(
          process.execPath,
          ['--import', 'tsx', '-e', `require(${JSON.stringify(path.join(__dirname, '..', 'src', 'index.ts'))}).compact(${JSON.stringify(dir)})`],
          { env: { ...process.env, PROM_MULTIPROC_FAULT: `compaction:${step}` }, encoding: 'utf8' },
        );
        assert.equal(run.signal, 'SIGKILL', `the compaction was to be killed ${step}: ${run.stderr}`);
        assert.deepEqual(await samples(longLived), expected, 'a collector that had read the directory before');
        assert.deepEqual(await samples(quietRegistry(dir)), expected, 'a fresh collector');
        // The killed compactor's directory lock goes stale; the next compaction finishes or redoes the work.
        ageLocks(dir, 120000);
        compact(dir);
        assert.deepEqual(await samples(longLived), expected);
        assert.deepEqual(await samples(quietRegistry(dir)), expected);
        const leftovers = fs.readdirSync(dir).filter((f) => f.endsWith('.next') || f.endsWith('.tmp'));
        assert.deepEqual(leftovers.filter((f) => !f.endsWith('.next')), []);
        const ids = new Set(fs.readdirSync(dir).filter((f) => f.endsWith('.db')).map((f) => f.replace(/^.*_/, '').replace(/\.db$/, '')));
        assert.deepEqual([...ids], ['compacted'], 'every dead writer compacted in the end');
      } finally {
        cleanup();
      }
    });
  }
});

describe('removed series', () => {
  it("leave the merged view unless another process holds them; compaction does not bring a dead writer's withdrawn entry back", async () => {
    const { dir, cleanup } = tempDir();
    const writers: Writer[] = [];
    try {
      const first = await startWriter(dir, 'first');
      const second = await startWriter(dir, 'second');
      writers.push(first, second);
      await first.send({ op: 'countKind', kind: 'shared', times: 3 });
      await second.send({ op: 'countKind', kind: 'shared', times: 4 });
      await first.send({ op: 'countKind', kind: 'mine', times: 5 });
      const registry = quietRegistry(dir);
      let lines = await samples(registry);
      assert.equal(value(lines, 'jobs_total{kind="shared"}'), 7);
      assert.equal(value(lines, 'jobs_total{kind="mine"}'), 5);
      await first.send({ op: 'remove', kind: 'shared' });
      await first.send({ op: 'remove', kind: 'mine' });
      lines = await samples(registry);
      assert.equal(value(lines, 'jobs_total{kind="shared"}'), 4, 'the live second writer still holds the series');
      assert.equal(value(lines, 'jobs_total{kind="mine"}'), undefined, 'nobody else holds it: it leaves the merged view');
      // The first writer dies; its withdrawn entries must not come back as 0s, nor as their old values.
      await first.send({ op: 'exit' });
      assert.deepEqual(compact(dir)?.compacted, ['first']);
      const compacted = readEntryFile(path.join(dir, 'counter_compacted.db'));
      assert.deepEqual(compacted.filter((e) => e.labels.kind === 'shared' || e.labels.kind === 'mine'), [], 'withdrawn entries are not carried over');
      for (const reader of [registry, quietRegistry(dir)]) {
        lines = await samples(reader);
        assert.equal(value(lines, 'jobs_total{kind="shared"}'), 4);
        assert.equal(value(lines, 'jobs_total{kind="mine"}'), undefined);
      }
      // The last holder removes it too: the series is gone; made again, it starts from 0.
      await second.send({ op: 'remove', kind: 'shared' });
      assert.equal(value(await samples(registry), 'jobs_total{kind="shared"}'), undefined);
      await second.send({ op: 'countKind', kind: 'shared', times: 1 });
      assert.equal(value(await samples(registry), 'jobs_total{kind="shared"}'), 1);
      await second.send({ op: 'exit' });
    } finally {
      for (const w of writers) w.child.kill('SIGKILL');
      cleanup();
    }
  });
});

describe('removed series and the shares of dead writers', () => {
  it('a series a live writer removed and no live writer holds leaves the merged view, dead shares and compacted ones too; compaction drops them', async () => {
    const { dir, cleanup } = tempDir();
    const writers: Writer[] = [];
    try {
      const dead = await startWriter(dir, 'dead');
      const remover = await startWriter(dir, 'remover');
      const holder = await startWriter(dir, 'holder');
      writers.push(dead, remover, holder);
      await dead.send({ op: 'countKind', kind: 'gone', times: 6 });
      await dead.send({ op: 'countKind', kind: 'held', times: 10 });
      await dead.send({ op: 'countKind', kind: 'kept', times: 2 });
      await remover.send({ op: 'countKind', kind: 'gone', times: 2 });
      await remover.send({ op: 'countKind', kind: 'held', times: 1 });
      await holder.send({ op: 'countKind', kind: 'held', times: 1 });
      await killed(dead);
      ageLocks(dir, 3 * TIMEOUT_MS, ['dead']);
      const registry = quietRegistry(dir);
      let lines = await samples(registry);
      assert.equal(value(lines, 'jobs_total{kind="gone"}'), 8);
      await remover.send({ op: 'remove', kind: 'gone' });
      await remover.send({ op: 'remove', kind: 'held' });
      for (const reader of [registry, quietRegistry(dir), registry]) {
        lines = await samples(reader);
        assert.equal(value(lines, 'jobs_total{kind="gone"}'), undefined, 'removed by a live writer, held by no live one: the dead share is hidden');
        assert.equal(value(lines, 'jobs_total{kind="held"}'), 11, 'a live writer still holds it: every share counts, the dead one\'s too');
        assert.equal(value(lines, 'jobs_total{kind="kept"}'), 2, 'never removed');
      }
      ageLocks(dir, 3 * COMPACTION_GRACE * TIMEOUT_MS, ['dead']);
      assert.deepEqual(compact(dir)?.compacted, ['dead']);
      const accumulated = readEntryFile(path.join(dir, 'counter_compacted.db'));
      const kinds = (entries: typeof accumulated): unknown[] => entries.filter((e) => e.labels.kind !== 'done').map((e) => [e.labels.kind, e.value]).sort();
      assert.deepEqual(kinds(accumulated), [['held', 10], ['kept', 2]], 'the hidden share is not carried over');
      for (const reader of [registry, quietRegistry(dir)]) {
        lines = await samples(reader);
        assert.equal(value(lines, 'jobs_total{kind="gone"}'), undefined);
        assert.equal(value(lines, 'jobs_total{kind="held"}'), 11);
      }
      // Made again, it starts from 0: the dead share does not come back.
      await remover.send({ op: 'countKind', kind: 'gone', times: 1 });
      assert.equal(value(await samples(registry), 'jobs_total{kind="gone"}'), 1);
      assert.equal(value(await samples(quietRegistry(dir)), 'jobs_total{kind="gone"}'), 1);
      // The accumulated share of a series removed later is hidden, then dropped when its remover's files are compacted.
      await holder.send({ op: 'remove', kind: 'held' });
      assert.equal(value(await samples(registry), 'jobs_total{kind="held"}'), undefined);
      await holder.send({ op: 'exit' });
      assert.equal(value(await samples(quietRegistry(dir)), 'jobs_total{kind="held"}'), undefined, 'its remover is gone; the series was removed by every writer that held it');
      assert.deepEqual(compact(dir)?.compacted, ['holder']);
      assert.deepEqual(kinds(readEntryFile(path.join(dir, 'counter_compacted.db'))), [['kept', 2]]);
      await remover.send({ op: 'exit' });
    } finally {
      for (const w of writers) w.child.kill('SIGKILL');
      cleanup();
    }
  });
});

describe('files that disappear under a live writer', () => {
  /** Polls fresh collectors until `series` has `expected`, for a few liveness refreshes. */
  async function waitForValue(dir: string, series: string, expected: number): Promise<void> {
    const deadline = Date.now() + 5 * TIMEOUT_MS;
    let seen: number | undefined;
    while (Date.now() < deadline) {
      seen = value(await samples(new MultiprocessRegistry({ dir, compactThreshold: 0, logger: { warn: () => {} } })), series);
      if (seen === expected) return;
      await sleep(100);
    }
    assert.fail(`${series} was ${seen}, expected ${expected}, after ${5 * TIMEOUT_MS} ms`);
  }

  async function waitForFile(file: string): Promise<void> {
    const deadline = Date.now() + 5 * TIMEOUT_MS;
    while (!fs.existsSync(file) && Date.now() < deadline) await sleep(100);
    assert.ok(fs.existsSync(file), `${file} is back`);
  }

  it('a directory removed and made again gets the writer\'s files back, with its values, and its marker', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const writer = await startWriter(dir);
      await writer.send({ op: 'count', times: 5 });
      await writer.send({ op: 'set', value: 3 });
      fs.rmSync(dir, { recursive: true });
      fs.mkdirSync(dir);
      await waitForValue(dir, 'jobs_total{kind="done"}', 5);
      await waitForValue(dir, 'total', 3);
      await writer.send({ op: 'count', times: 2 });
      await waitForValue(dir, 'jobs_total{kind="done"}', 7);
      await waitForFile(path.join(dir, `${writer.pid}.writer`));
      await writer.send({ op: 'exit' });
      assert.deepEqual(await writer.exited, { code: 0, signal: null });
    } finally {
      cleanup();
    }
  });

  it('a deleted file is written again with the current values', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const writer = await startWriter(dir);
      await writer.send({ op: 'count', times: 4 });
      fs.rmSync(path.join(dir, `counter_${writer.pid}.db`));
      await waitForValue(dir, 'jobs_total{kind="done"}', 4);
      await writer.send({ op: 'count', times: 1 });
      await waitForValue(dir, 'jobs_total{kind="done"}', 5);
      await writer.send({ op: 'exit' });
    } finally {
      cleanup();
    }
  });

  it('files compacted while their writer was taken for dead start again from zero: nothing is counted twice', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const writer = await startWriter(dir);
      await writer.send({ op: 'count', times: 5 });
      await writer.send({ op: 'set', value: 3 });
      // As if its event loop had been blocked past twice its liveness timeout.
      ageLocks(dir, 5 * TIMEOUT_MS, [String(writer.pid)]);
      assert.deepEqual(compact(dir)?.compacted, [String(writer.pid)]);
      assert.ok(fs.existsSync(path.join(dir, 'counter_compacted.db')));
      await waitForFile(path.join(dir, `counter_${writer.pid}.db`));
      // A sum gauge's value is in the accumulated file once; a per-process gauge, which compaction dropped, is back.
      await waitForValue(dir, 'total', 3);
      await waitForValue(dir, `per_worker{pid="${writer.pid}"}`, 3);
      await writer.send({ op: 'count', times: 2 });
      await waitForValue(dir, 'jobs_total{kind="done"}', 7);
      await waitForFile(path.join(dir, `${writer.pid}.writer`));
      await writer.send({ op: 'exit' });
    } finally {
      cleanup();
    }
  });
});

describe('compaction of a dead writer with a bad key', () => {
  it('leaves that writer\'s files alone (the accumulated file must stay readable) and compacts the others', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const marker = JSON.stringify({ instance: 'x', pid: 1, hostname: 'h', startedAt: '', livenessTimeoutMs: 2000 });
      for (const id of ['111', '222']) fs.writeFileSync(path.join(dir, `${id}.writer`), marker);
      fs.writeFileSync(path.join(dir, 'counter_111.db'), currentLayoutFile([{ key: pythonKey('jobs', 'jobs_total', {}, 'Jobs.'), value: 1 }, { key: '["jobs", "jobs total", {}, "Jobs."]', value: 2 }]));
      fs.writeFileSync(path.join(dir, 'counter_222.db'), currentLayoutFile([{ key: pythonKey('jobs', 'jobs_total', {}, 'Jobs.'), value: 5 }]));
      const warnings: string[] = [];
      const result = compact(dir, { logger: { warn: (m) => warnings.push(m) } });
      assert.deepEqual(result?.compacted, ['222']);
      assert.ok(fs.existsSync(path.join(dir, 'counter_111.db')), 'the bad writer\'s file stays');
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0], /leaves the files of 111 .*sample name "jobs total" is not a valid metric name/);
      assert.deepEqual(readEntryFile(path.join(dir, 'counter_compacted.db')).map((e) => [e.sampleName, e.value]), [['jobs_total', 5]]);
    } finally {
      cleanup();
    }
  });
});

describe('the compaction lock', () => {
  const CLI = path.join(__dirname, '..', 'dist', 'surfaces', 'cli.js');

  it('left by a compactor killed with SIGKILL names its holder, and is taken over once 10 s without refresh', async () => {
    const { dir, cleanup } = tempDir();
    try {
      for (let i = 0; i < 2; i++) {
        const w = await startWriter(dir);
        await w.send({ op: 'count', times: 4 });
        await w.send({ op: 'exit' });
      }
      const killed = spawnSync(
        process.execPath,
        ['--import', 'tsx', '-e', `require(${JSON.stringify(path.join(__dirname, '..', 'src', 'index.ts'))}).compact(${JSON.stringify(dir)})`],
        { env: { ...process.env, PROM_MULTIPROC_FAULT: 'compaction:after-temporaries' }, encoding: 'utf8' },
      );
      assert.equal(killed.signal, 'SIGKILL', killed.stderr);
      const refused = spawnSync(process.execPath, [CLI, 'compact', '--dir', dir], { encoding: 'utf8' });
      assert.equal(refused.status, 1, refused.stderr);
      assert.match(refused.stderr, new RegExp(`held by process ${killed.pid} on .*refreshed \\d+\\.\\d s ago; it is taken over once not refreshed for 10 s`));
      // Nine seconds without a refresh: still the dead compactor's.
      const aged = (ms: number): void => {
        const past = new Date(Date.now() - ms);
        fs.utimesSync(path.join(dir, '.compaction.lock'), past, past);
      };
      aged(9000);
      assert.equal(compact(dir), undefined, 'not yet stale');
      aged(10500);
      const result = compact(dir);
      assert.ok(result, 'a lock not refreshed for 10 s is taken over');
      assert.equal(result.compacted.length, 2);
      assert.equal(value(await samples(quietRegistry(dir)), 'jobs_total{kind="done"}'), 8);
    } finally {
      cleanup();
    }
  });
});

describe('clearMultiprocDir', () => {
  it('refuses while a live writer holds its lock, clears with force, keeps foreign files, creates a missing directory', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const writer = await startWriter(dir);
      await writer.send({ op: 'count', times: 1 });
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'not ours');
      assert.throws(() => clearMultiprocDir(dir), (err: unknown) => err instanceof ConfigError && err.message.includes(dir) && err.message.includes(String(writer.pid)));
      assert.ok(fs.readdirSync(dir).some((f) => f.endsWith('.db')), 'nothing removed on refusal');
      const result = clearMultiprocDir(dir, { force: true });
      assert.deepEqual(result.liveWriters, [String(writer.pid)]);
      assert.deepEqual(fs.readdirSync(dir), ['notes.txt']);
      await writer.send({ op: 'exit' });
      const fresh = path.join(dir, 'sub', 'metrics');
      clearMultiprocDir(fresh);
      assert.equal(fs.statSync(fresh).mode & 0o777, 0o755);
    } finally {
      cleanup();
    }
  });
});

describe('CLI: clear and compact', () => {
  const CLI = path.join(__dirname, '..', 'dist', 'surfaces', 'cli.js');
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

  it('clear refuses while a writer lives and clears with --force; compact merges dead writers', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const writer = await startWriter(dir);
      await writer.send({ op: 'count', times: 3 });
      const refused = cli('clear', '--dir', dir);
      assert.notEqual(refused.status, 0);
      assert.ok(refused.stderr.includes(dir) && refused.stderr.includes(String(writer.pid)), refused.stderr);
      await writer.send({ op: 'exit' });
      const compacted = cli('compact', '--dir', dir);
      assert.equal(compacted.status, 0, compacted.stderr);
      assert.match(compacted.stdout, /compacted 1 dead writer/);
      assert.equal(value(await samples(quietRegistry(dir)), 'jobs_total{kind="done"}'), 3);
      assert.match(cli('compact', '--dir', dir).stdout, /nothing to compact/);
      const again = await startWriter(dir);
      const forced = cli('clear', '--dir', dir, '--force');
      assert.equal(forced.status, 0, forced.stderr);
      assert.deepEqual(fs.readdirSync(dir).filter((f) => !f.endsWith('.lock')), []);
      again.child.kill('SIGKILL');
      for (const command of ['clear', 'compact']) {
        const help = cli(command, '--help');
        assert.equal(help.status, 0);
        assert.match(help.stdout, new RegExp(`Usage: prom-multiproc ${command}`));
      }
    } finally {
      cleanup();
    }
  });
});

describe('churn with SIGKILL while scrapes and compactions run', () => {
  it('counters never decrease, and the final totals equal what the dead writers had recorded', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const registry = new MultiprocessRegistry({ dir, compactThreshold: 1, logger: { warn: () => {} } });
      let last = 0;
      let recorded = 0;
      for (let round = 0; round < 6; round++) {
        const writers = await Promise.all([startWriter(dir, `w${round % 2}`), startWriter(dir)]);
        await Promise.all(writers.map((w) => w.send({ op: 'count', times: 50 + round })));
        recorded += 2 * (50 + round);
        // Kill one mid-way through its work, let the other exit cleanly.
        writers[0].child.send({ op: 'count', times: 1000 });
        await sleep(Math.floor(Math.random() * 30));
        await killed(writers[0]);
        await writers[1].send({ op: 'exit' });
        ageLocks(dir, 60000);
        const now = value(await samples(registry), 'jobs_total{kind="done"}') ?? 0;
        assert.ok(now >= last, `counter went down: ${last} -> ${now}`);
        assert.ok(now >= recorded, `lost counts: ${now} < ${recorded}`);
        last = now;
        await sleep(20); // the compaction the scrape scheduled
      }
      // What the killed writers completed is what their files hold: count from the raw files.
      ageLocks(dir, 60000);
      const raw = fs
        .readdirSync(dir)
        .filter((f) => f.startsWith('counter_'))
        .flatMap((f) => readEntryFile(path.join(dir, f)))
        .reduce((sum, e) => sum + e.value, 0);
      assert.equal(value(await samples(registry), 'jobs_total{kind="done"}'), raw);
      compact(dir);
      assert.equal(value(await samples(registry), 'jobs_total{kind="done"}'), raw);
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.db') && !f.includes('_compacted')), [], 'all dead writers compacted');
    } finally {
      cleanup();
    }
  });
});
