import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import { inspectFile } from '../src/index.js';
import { currentLayoutFile, entryOffsets, python016LayoutFile, pythonKey } from './helpers/db-files.js';
import { FIXTURES, tempDir } from './helpers/fixtures.js';

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'surfaces', 'cli.js');
const PYTHON_FILE = path.join(FIXTURES, 'counters', 'db', 'counter_101.db');

const JOBS_KEY = pythonKey('jobs', 'jobs_total', {}, 'Jobs done.');
const GET_KEY = pythonKey('http_requests', 'http_requests_total', { code: '200', method: 'GET' }, 'HTTP requests served.');
const POST_KEY = pythonKey('http_requests', 'http_requests_total', { code: '500', method: 'POST' }, 'HTTP requests served.');

function runInspect(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, 'inspect', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function describeRun(result: { status: number | null; stdout: string; stderr: string }): string {
  return `status ${result.status}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** Writes `bytes` as `name` in a fresh temporary directory and returns its path. */
function writeFile(t: TestContext, name: string, bytes: Buffer): string {
  const temp = tempDir('prom-multiproc-inspect-');
  t.after(temp.cleanup);
  const file = path.join(temp.dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** The entry rows of `inspect` output: offset, value, timestamp column text, key. */
function entryRows(stdout: string): Array<{ offset: number; value: string; timestamp: string; key: string }> {
  return stdout
    .split('\n')
    .filter((line) => /^\s+\d+\s/.test(line))
    .map((line) => {
      const match = /^\s+(\d+)\s+(\S+)\s+(\d\S*(?: \([^)]*\))?)\s+(\[.*\])$/.exec(line);
      assert.ok(match, `an entry row: ${JSON.stringify(line)}`);
      return { offset: Number(match[1]), value: match[2], timestamp: match[3], key: match[4] };
    });
}

before(() => {
  assert.ok(fs.existsSync(CLI), `${CLI} does not exist: build first with npx tsc -p tsconfig.json`);
});

describe('prom-multiproc inspect', () => {
  test('prints every entry of a file Python wrote: offset, value, timestamp, key; exit 0', () => {
    const result = runInspect([PYTHON_FILE]);
    assert.equal(result.status, 0, describeRun(result));
    assert.equal(result.stderr, '');
    const bytes = fs.readFileSync(PYTHON_FILE);
    assert.ok(
      result.stdout.startsWith(`${PYTHON_FILE}: counter, process 101, ${bytes.readInt32LE(0)} of ${bytes.length} bytes in use, 3 entries\n`),
      result.stdout,
    );
    assert.match(result.stdout, /^\s+offset\s+value\s+timestamp\s+key$/m);
    assert.deepEqual(entryRows(result.stdout), [
      { offset: entryOffsets(bytes)[0], value: '3', timestamp: '0', key: JOBS_KEY },
      { offset: entryOffsets(bytes)[1], value: '3.5', timestamp: '0', key: GET_KEY },
      { offset: entryOffsets(bytes)[2], value: '1', timestamp: '0', key: POST_KEY },
    ]);
  });

  test('shows timestamps of mostrecent gauges as seconds and UTC time, and infinite values', (t) => {
    const key = pythonKey('temperature', 'temperature', { room: 'lab' }, 'Last reading.');
    const hall = pythonKey('temperature', 'temperature', { room: 'hall' }, 'Last reading.');
    const file = writeFile(t, 'gauge_livemostrecent_7.db', currentLayoutFile([{ key, value: 21.5, timestamp: 1700000000.25 }, { key: hall, value: Infinity }]));
    const result = runInspect([file]);
    assert.equal(result.status, 0, describeRun(result));
    assert.match(result.stdout, /: gauge \(mode livemostrecent\), process 7, /);
    const rows = entryRows(result.stdout);
    assert.equal(rows[0].timestamp, '1700000000.25 (2023-11-14T22:13:20.250Z)');
    assert.equal(rows[0].value, '21.5');
    assert.equal(rows[1].value, '+Inf');
  });

  const corrupt: Array<{ title: string; name: string; bytes: () => Buffer; readable: number; reason: RegExp; offset: (bytes: Buffer) => number; hint?: RegExp }> = [
    {
      title: 'a bad key length in the second entry',
      name: 'counter_3.db',
      bytes: () => currentLayoutFile([{ key: JOBS_KEY, value: 1 }, { key: GET_KEY, value: 2, lengthField: -4 }]),
      readable: 1,
      reason: /bad key length -4/,
      offset: (bytes) => entryOffsets(currentLayoutFile([{ key: JOBS_KEY, value: 1 }, { key: GET_KEY, value: 2 }]))[1] ?? bytes.length,
    },
    {
      title: 'a key that is not JSON in the third entry',
      name: 'counter_4.db',
      bytes: () => currentLayoutFile([{ key: JOBS_KEY, value: 1 }, { key: GET_KEY, value: 2 }, { key: '["jobs", "jobs_total", {}', value: 3 }]),
      readable: 2,
      reason: /key is not valid JSON/,
      offset: (bytes) => entryOffsets(bytes)[2],
    },
    {
      title: 'a header claiming more bytes than the file has',
      name: 'histogram_5.db',
      bytes: () => currentLayoutFile([{ key: JOBS_KEY, value: 1 }], { fileSize: 4096, usedField: 8192 }),
      readable: 0,
      reason: /header says 8192 bytes in use but the file has 4096/,
      offset: () => 0,
    },
    {
      title: 'an empty file',
      name: 'summary_6.db',
      bytes: () => Buffer.alloc(0),
      readable: 0,
      reason: /empty file \(0 bytes\)/,
      offset: () => 0,
    },
    {
      title: "Python 0.16's layout (8-byte value slots)",
      name: 'counter_8.db',
      bytes: () => python016LayoutFile([{ key: JOBS_KEY, value: 1 }, { key: GET_KEY, value: 2 }]),
      // The first entry reads (with a garbage timestamp); the walk then looks for a second one 16 bytes after its value.
      readable: 1,
      reason: /entry of \d+ bytes runs past the \d+ bytes in use/,
      offset: () => 8 + 4 + Buffer.byteLength(JOBS_KEY) + (8 - ((Buffer.byteLength(JOBS_KEY) + 4) % 8)) + 16,
      hint: /Python 0\.16-0\.17's layout/,
    },
  ];

  for (const c of corrupt) {
    test(`${c.title}: the entries before the damage, the reason and byte offset, exit 1`, (t) => {
      const bytes = c.bytes();
      const file = writeFile(t, c.name, bytes);
      const result = runInspect([file]);
      assert.equal(result.status, 1, describeRun(result));
      assert.equal(entryRows(result.stdout).length, c.readable, describeRun(result));
      const error = /^\s+error: (.*) \(at byte (\d+)\)$/m.exec(result.stdout);
      assert.ok(error, describeRun(result));
      assert.match(error[1], c.reason);
      const expectedOffset = c.offset(bytes);
      if (expectedOffset >= 0) assert.equal(Number(error[2]), expectedOffset, describeRun(result));
      assert.match(result.stderr, /1 of 1 files have problems/);
      if (c.hint) assert.match(result.stdout, new RegExp(`^  hint: .*${c.hint.source}`, 'm'), describeRun(result));
      else assert.doesNotMatch(result.stdout, /hint:/);

      // The API reports the same.
      const inspection = inspectFile(file);
      assert.equal(inspection.entries.length, c.readable);
      assert.equal(inspection.problems.length, 1);
      assert.match(inspection.problems[0].reason, c.reason);
      assert.equal(inspection.hint !== undefined, c.hint !== undefined);
    });
  }

  test('several files: each is reported, a bad name and a missing file too, and the exit is 1', (t) => {
    const temp = tempDir('prom-multiproc-inspect-many-');
    t.after(temp.cleanup);
    const renamed = path.join(temp.dir, 'metrics_backup.db');
    fs.copyFileSync(PYTHON_FILE, renamed);
    const missing = path.join(temp.dir, 'counter_404.db');
    const result = runInspect([PYTHON_FILE, renamed, missing]);
    assert.equal(result.status, 1, describeRun(result));
    assert.ok(result.stdout.includes(`${PYTHON_FILE}: counter, process 101`), describeRun(result));
    assert.ok(result.stdout.includes(`${renamed}: unknown kind`), describeRun(result));
    assert.match(result.stdout, /error: not a metrics file name \(collectors skip it\)/);
    assert.equal(entryRows(result.stdout).length, 6, 'the renamed file is still listed');
    assert.ok(result.stdout.includes(`${missing}: counter, process 404, 0 entries readable`), describeRun(result));
    assert.match(result.stdout, /error: ENOENT: no such file or directory/);
    assert.match(result.stderr, /2 of 3 files have problems/);
  });

  test('no FILE is a usage error; --help prints the usage', () => {
    const none = runInspect([]);
    assert.equal(none.status, 2, describeRun(none));
    assert.match(none.stderr, /inspect needs at least one FILE/);
    const help = runInspect(['--help']);
    assert.equal(help.status, 0, describeRun(help));
    assert.match(help.stdout, /^Usage: prom-multiproc inspect FILE\.\.\./);
  });
});

describe('every subcommand has --help', () => {
  for (const [command, usage] of [
    ['metrics', /^Usage: prom-multiproc <command>/],
    ['serve', /^Usage: prom-multiproc serve /],
    ['inspect', /^Usage: prom-multiproc inspect /],
  ] as const) {
    for (const flag of ['--help', '-h']) {
      test(`${command} ${flag}`, () => {
        const result = spawnSync(process.execPath, [CLI, command, flag], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, usage);
        assert.equal(result.stderr, '');
      });
    }
  }
});
