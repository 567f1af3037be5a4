import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { FIXTURES, fixtureCases, tempDir } from './helpers/fixtures.js';
import { skipUnlessInstalled } from './helpers/programs.js';
import { assertOpenMetricsParses, runPromtool } from './helpers/promtool.js';

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'surfaces', 'cli.js');
const RUN_TIMEOUT_MS = 30_000;

/**
 * Lint findings of `promtool check metrics` about names the Python fixtures
 * chose (and that we must export unchanged), not about how we render them.
 */
const ACCEPTED_LINT: Record<string, string[]> = {
  'gauge-modes': ['g_sum non-histogram and non-summary metrics should not have "_sum" suffix'],
};

interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function describeRun(what: string, result: Omit<RunResult, 'signal'> & { signal?: NodeJS.Signals | null }): string {
  return `${what}: status ${result.status}, signal ${result.signal ?? null}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** The environment without any multiprocess directory, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PROMETHEUS_MULTIPROC_DIR;
  delete env.prometheus_multiproc_dir;
  return { ...env, ...extra };
}

function runCli(args: string[], env: Record<string, string> = {}): RunResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: cleanEnv(env),
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  if (result.error) throw result.error;
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

function listSourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listSourceFiles(full);
    return /\.m?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** A copy of a fixture's db/ in a fresh temporary directory, so the CLI never runs on the checked-in files. */
function fixtureCopy(caseName: string): { dir: string; cleanup: () => void } {
  const temp = tempDir(`prom-multiproc-cli-${caseName}-`);
  fs.cpSync(path.join(FIXTURES, caseName, 'db'), temp.dir, { recursive: true });
  return temp;
}

function snapshot(dir: string): Map<string, string> {
  return new Map(fs.readdirSync(dir).map((name) => [name, fs.readFileSync(path.join(dir, name)).toString('base64')]));
}

function sampleLines(exposition: string): string[] {
  return exposition.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

before(() => {
  assert.ok(fs.existsSync(CLI), `${CLI} does not exist: build first with npx tsc -p tsconfig.json`);
  const built = fs.statSync(CLI).mtimeMs;
  const stale = listSourceFiles(path.join(ROOT, 'src')).filter((file) => fs.statSync(file).mtimeMs > built);
  assert.deepEqual(stale, [], `dist/ is older than these sources: rebuild with npx tsc -p tsconfig.json`);
});

describe('prom-multiproc CLI', () => {
  test('metrics --dir prints the merged exposition, exits 0 and leaves the directory as it was', (t) => {
    const { dir, cleanup } = fixtureCopy('counters');
    t.after(cleanup);
    const filesBefore = snapshot(dir);
    const result = runCli(['metrics', '--dir', dir]);
    assert.equal(result.status, 0, describeRun('metrics --dir', result));
    assert.equal(result.stderr, '');

    const pythonSamples = sampleLines(fs.readFileSync(path.join(FIXTURES, 'counters', 'expected.prom'), 'utf8'));
    assert.deepEqual(sampleLines(result.stdout).sort(), [...pythonSamples, 'prom_multiproc_skipped_files_total 0.0'].sort());
    assert.match(result.stdout, /^# HELP jobs_total Jobs done\.\n# TYPE jobs_total counter\n/m);
    assert.deepEqual(snapshot(dir), filesBefore, 'the CLI only reads the directory');
  });

  test('metrics --openmetrics prints OpenMetrics ending with # EOF', (t) => {
    const { dir, cleanup } = fixtureCopy('counters');
    t.after(cleanup);
    const result = runCli(['metrics', '--openmetrics', '--dir', dir]);
    assert.equal(result.status, 0, describeRun('metrics --openmetrics', result));
    assert.ok(result.stdout.endsWith('\n# EOF\n'), `ends with # EOF:\n${result.stdout}`);
    assert.match(result.stdout, /^# TYPE jobs counter\njobs_total 3\.25$/m);
  });

  test('PROMETHEUS_MULTIPROC_DIR is used without --dir', (t) => {
    const { dir, cleanup } = fixtureCopy('histograms');
    t.after(cleanup);
    const fromFlag = runCli(['metrics', '--dir', dir]);
    const fromEnv = runCli(['metrics'], { PROMETHEUS_MULTIPROC_DIR: dir });
    assert.equal(fromEnv.status, 0, describeRun('metrics with PROMETHEUS_MULTIPROC_DIR', fromEnv));
    assert.ok(sampleLines(fromEnv.stdout).length > 1, fromEnv.stdout);
    assert.equal(fromEnv.stdout, fromFlag.stdout);
  });

  test('--dir wins over PROMETHEUS_MULTIPROC_DIR, and options may come before the command', (t) => {
    const counters = fixtureCopy('counters');
    const summaries = fixtureCopy('summaries');
    t.after(counters.cleanup);
    t.after(summaries.cleanup);
    const expected = runCli(['metrics', '--dir', counters.dir]);
    const result = runCli(['--dir', counters.dir, 'metrics'], { PROMETHEUS_MULTIPROC_DIR: summaries.dir });
    assert.equal(result.status, 0, describeRun('--dir DIR metrics', result));
    assert.equal(result.stdout, expected.stdout);
  });

  for (const args of [['--help'], ['-h'], ['metrics', '--help']]) {
    test(`${args.join(' ')} prints the usage and exits 0`, () => {
      const result = runCli(args);
      assert.equal(result.status, 0, describeRun(args.join(' '), result));
      assert.match(result.stdout, /^Usage: prom-multiproc <command>/);
      assert.match(result.stdout, /metrics \[--dir DIR\] \[--openmetrics\]/);
      assert.equal(result.stderr, '');
    });
  }

  test('a missing directory fails with a message naming it', (t) => {
    const { dir, cleanup } = tempDir('prom-multiproc-cli-missing-');
    t.after(cleanup);
    const missing = path.join(dir, 'no-such-dir');
    const result = runCli(['metrics', '--dir', missing]);
    assert.notEqual(result.status, 0, describeRun('metrics --dir <missing>', result));
    assert.match(result.stderr, /does not exist/);
    assert.ok(result.stderr.includes(missing), describeRun('the message names the path', result));
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'a message, not a stack trace');
    assert.equal(result.stdout, '');
  });

  test('a --dir that is a file fails with a message naming it', (t) => {
    const { dir, cleanup } = tempDir('prom-multiproc-cli-file-');
    t.after(cleanup);
    const file = path.join(dir, 'plain-file');
    fs.writeFileSync(file, 'not a directory');
    const result = runCli(['metrics', '--dir', file]);
    assert.notEqual(result.status, 0, describeRun('metrics --dir <file>', result));
    assert.ok(result.stderr.includes(file) && /not a directory/.test(result.stderr), describeRun('names the path', result));
  });

  test('no directory at all fails and says how to give one', () => {
    const result = runCli(['metrics']);
    assert.notEqual(result.status, 0, describeRun('metrics without a directory', result));
    assert.match(result.stderr, /--dir/);
    assert.match(result.stderr, /PROMETHEUS_MULTIPROC_DIR/);
  });

  test('an unknown command fails and names it', () => {
    const result = runCli(['frobnicate']);
    assert.notEqual(result.status, 0, describeRun('frobnicate', result));
    assert.match(result.stderr, /unknown command "frobnicate"/);
    assert.match(result.stderr, /Usage: prom-multiproc/);
    assert.equal(result.stdout, '');
  });

  test('an unknown option fails and names it', () => {
    const result = runCli(['metrics', '--frobnicate']);
    assert.notEqual(result.status, 0, describeRun('metrics --frobnicate', result));
    assert.match(result.stderr, /--frobnicate/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'a message, not a stack trace');
  });

  test('a corrupt file is reported on stderr by path, and the rest is printed with exit 0', (t) => {
    const { dir, cleanup } = fixtureCopy('counters');
    t.after(cleanup);
    const corrupt = path.join(dir, 'counter_9.db');
    fs.writeFileSync(corrupt, Buffer.alloc(0));
    const result = runCli(['metrics', '--dir', dir]);
    assert.equal(result.status, 0, describeRun('metrics with a corrupt file', result));
    assert.ok(result.stderr.includes(corrupt), describeRun('stderr names the corrupt file', result));
    assert.match(result.stdout, /^prom_multiproc_skipped_files_total 1(\.0)?$/m);
    assert.match(result.stdout, /^jobs_total 3\.25$/m);
  });
});

describe('promtool accepts the output for every fixture', { skip: skipUnlessInstalled('promtool') }, () => {
  for (const caseName of fixtureCases()) {
    test(`${caseName}: promtool check metrics passes the Prometheus text format`, (t) => {
      const { dir, cleanup } = fixtureCopy(caseName);
      t.after(cleanup);
      const exposition = runCli(['metrics', '--dir', dir]);
      assert.equal(exposition.status, 0, describeRun('metrics', exposition));
      const check = runPromtool(['check', 'metrics'], exposition.stdout);
      if (check.status === 0) return;
      // Exit 3 is lint only; accept it when every finding is about a fixture's own naming.
      const findings = check.stderr.split('\n').filter((line) => line.trim() !== '');
      const accepted = ACCEPTED_LINT[caseName] ?? [];
      const unexpected = findings.filter((line) => !accepted.includes(line));
      assert.ok(check.status === 3 && unexpected.length === 0, describeRun('promtool check metrics', check) + `\n--- input\n${exposition.stdout}`);
    });

    // `promtool check metrics` parses only the Prometheus text format (it
    // misreads OpenMetrics' family names and HELP escapes), so the OpenMetrics
    // output goes through Prometheus's OpenMetrics parser instead: the backfill
    // command, which needs a timestamp on every sample and the final # EOF.
    test(`${caseName}: promtool's OpenMetrics parser accepts the OpenMetrics output`, (t) => {
      const { dir, cleanup } = fixtureCopy(caseName);
      t.after(cleanup);
      const exposition = runCli(['metrics', '--openmetrics', '--dir', dir]);
      assert.equal(exposition.status, 0, describeRun('metrics --openmetrics', exposition));
      assert.ok(exposition.stdout.endsWith('\n# EOF\n'), 'ends with # EOF');

      const work = tempDir('prom-multiproc-promtool-');
      t.after(work.cleanup);
      assertOpenMetricsParses(exposition.stdout, work.dir);
    });
  }
});
