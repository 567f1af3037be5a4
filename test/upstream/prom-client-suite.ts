// Runs prom-client's own unit tests against this library and reports how many
// pass: once in-process (PROMETHEUS_MULTIPROC_DIR unset) and once in
// multiprocess mode (every test file gets a fresh empty directory).
//
//   node --import tsx test/upstream/prom-client-suite.ts [--only SUBSTRING] [--failures] [--tag TAG] [--keep]
//
// prom-client's tests are archived from its git directory (PROM_CLIENT_REPO,
// default /work/.mirror/siimon+prom-client/repo) into a temporary folder, next
// to small shims that stand in for prom-client's index.js and lib/* files and
// re-export tsc's output of this checkout's src/ (BUILD_DIR) (table SHIMS below). Nothing of prom-client
// is written into this repository. jest and nock (the versions prom-client's
// package.json names) are installed with npm once into
// ~/.cache/prom-multiproc-suite and reused. The same tests are also run once
// against prom-client itself (cached per commit) to have the full list of test
// names, so that a test file that fails to load counts all its tests as failed.
//
// The result goes to $BENCH_RESULTS_DIR/prom-client-suite.json (bench/results/
// by default; prom-client-suite-partial.json for --only runs). It is a report:
// the exit code is 0 whatever the tests do, 2 when the harness itself fails.
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { RESULTS_DIR } from '../../bench/lib/results.js';

/**
 * What each file that prom-client's tests require becomes: a JavaScript
 * expression over `ours` (tsc's output of src/index.ts, BUILD_DIR). `pick(ours, names)`
 * is an object of those exports (undefined where we have none);
 * `withStatics(X, {...})` adds the statics prom-client's module has to X when X
 * exists and lacks them; `internal(file, name)` is an export of one of our
 * modules that index.js does not re-export (BUILD_DIR/<file>), where prom-client's
 * file has the same role. A thing we do not have maps to undefined, so the
 * tests that use it fail: nothing here imitates behaviour.
 */
const SHIMS: Record<string, string> = {
  // prom-client's index.js: the whole public API.
  index: 'ours',
  // module.exports = Registry; module.exports.globalRegistry = the default registry.
  'lib/registry': 'withStatics(ours.Registry, { globalRegistry: ours.register })',
  // module.exports = AggregatorRegistry (with Registry's statics, which it inherits).
  'lib/cluster': 'ours.AggregatorRegistry',
  // Internal helpers that prom-client does not export from index.js; used by utilTest and validationTest.
  'lib/util': 'pick(ours, ["getLabels"])',
  'lib/validation': 'pick(ours, ["validateLabel"])',
  // The summary's sliding window of quantiles (in-process mode's, as prom-client's).
  'lib/timeWindowQuantiles': 'internal("metrics/time-window-quantiles.js", "TimeWindowQuantiles")',
  // One default metric each, `(registry, config) => void` with .metricNames: our
  // collectDefaultMetrics() is made of the same modules (src/surfaces/default-metrics/).
  'lib/metrics/eventLoopLag': 'internal("surfaces/default-metrics/event-loop-lag.js", "eventLoopLag")',
  'lib/metrics/gc': 'internal("surfaces/default-metrics/gc.js", "gc")',
  'lib/metrics/heapSizeAndUsed': 'internal("surfaces/default-metrics/heap-size-and-used.js", "heapSizeAndUsed")',
  'lib/metrics/heapSpacesSizeAndUsed': 'internal("surfaces/default-metrics/heap-spaces-size-and-used.js", "heapSpacesSizeAndUsed")',
  'lib/metrics/processHandles': 'internal("surfaces/default-metrics/process-handles.js", "processHandles")',
  'lib/metrics/processMaxFileDescriptors': 'internal("surfaces/default-metrics/process-max-file-descriptors.js", "processMaxFileDescriptors")',
  'lib/metrics/processOpenFileDescriptors': 'internal("surfaces/default-metrics/process-open-file-descriptors.js", "processOpenFileDescriptors")',
  'lib/metrics/processRequests': 'internal("surfaces/default-metrics/process-requests.js", "processRequests")',
  'lib/metrics/processResources': 'internal("surfaces/default-metrics/process-resources.js", "processResources")',
  'lib/metrics/processStartTime': 'internal("surfaces/default-metrics/process-start-time.js", "processStartTime")',
  'lib/metrics/version': 'internal("surfaces/default-metrics/version.js", "version")',
};

const ROOT = path.resolve(__dirname, '..', '..');
/**
 * The tests run against tsc's output of src/, compiled for them: `npm run
 * build` bundles dist/index.js (src/bundle.mjs), and a shim that requires one
 * of our modules by its file (internal() below) would then load a second copy
 * of every module beside the bundle's (another `register`). Inside
 * node_modules, so that the output finds our dependencies.
 */
const BUILD_DIR = path.join(ROOT, 'node_modules', '.cache', 'prom-multiproc-suite-build');
const DIST = path.join(BUILD_DIR, 'index.js');
const DEFAULT_REPO = '/work/.mirror/siimon+prom-client/repo';
const DEFAULT_TAG = 'v15.1.3';
const CACHE_ROOT = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'prom-multiproc-suite');
/** One jest run may take this long before it is killed (and the harness fails). */
const JEST_TIMEOUT_MS = 20 * 60 * 1000;
/** Lines of a failure message kept as its detail (in the JSON and for --failures). */
const DETAIL_LINES = 8;

type Mode = 'inProcess' | 'multiprocess';
const MODES: readonly Mode[] = ['inProcess', 'multiprocess'];
const MODE_LABEL: Record<Mode, string> = { inProcess: 'in-process', multiprocess: 'multiprocess' };
/**
 * The acceptance goal of each mode, as it was set: passed tests (error-message
 * snapshot mismatches allowed) of 303. prom-client 15.1.3's suite has 480 tests
 * under jest 29.7 (describe.each runs most of them for both content types), so
 * the goal is applied as that share of the tests prom-client's own run has.
 */
const GOAL: Record<Mode, { passed: number; of: number }> = { inProcess: { passed: 270, of: 303 }, multiprocess: { passed: 200, of: 303 } };

/**
 * Why a test failed. `message-snapshot`: toThrowErrorMatchingSnapshot saw an
 * error thrown, only with other words than prom-client's (the goal allows
 * these); `snapshot`: another snapshot (an exposition) differs; `not-run`: the
 * test exists in prom-client's run but did not run here (its file failed to
 * load, or a describe block threw); `other`: everything else.
 */
type Cause = 'message-snapshot' | 'snapshot' | 'not-run' | 'other';

interface TestResult {
  file: string;
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  cause?: Cause;
  /** First line of the failure message. */
  message?: string;
  /** Its first lines, without the stack. */
  detail?: string[];
}

interface FileRun {
  file: string;
  tests: TestResult[];
  /** Why the file failed to run, when it did. */
  suiteError?: string;
}

interface ModeSummary {
  passed: number;
  failed: number;
  skipped: number;
  total: number;
  causes: Record<Cause, number>;
  /** Passed plus error-message snapshot mismatches: what the goal counts. */
  passedOrMessageOnly: number;
  goal: number;
  goalMet: boolean;
  /** Tests that ran here but are not in prom-client's own run (a title that depends on our values). */
  extra: number;
}

class HarnessError extends Error {}

function fail(message: string): never {
  throw new HarnessError(message);
}

function log(message: string): void {
  process.stderr.write(`[prom-client-suite] ${message}\n`);
}

function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) fail(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited ${r.status}:\n${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

// ---------------------------------------------------------------- arguments

interface Options {
  repo: string;
  tag: string;
  only?: string;
  failures: boolean;
  keep: boolean;
}

const USAGE = `usage: node --import tsx test/upstream/prom-client-suite.ts [options]
  --only SUBSTRING  run only the test files whose path (e.g. test/counterTest.js) contains SUBSTRING
  --failures        print every failing test, grouped by file, with the first lines of its message
  --tag TAG         prom-client tag to take the tests from (default ${DEFAULT_TAG}, or PROM_CLIENT_TAG)
  --keep            keep the temporary folder (its path is printed) to rerun jest by hand
environment: PROM_CLIENT_REPO (prom-client's git directory, default ${DEFAULT_REPO}),
  BENCH_RESULTS_DIR (where the JSON goes, default bench/results)`;

function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        only: { type: 'string' },
        failures: { type: 'boolean', default: false },
        tag: { type: 'string' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    });
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    repo: path.resolve(process.env.PROM_CLIENT_REPO || DEFAULT_REPO),
    tag: parsed.values.tag ?? (process.env.PROM_CLIENT_TAG || DEFAULT_TAG),
    only: parsed.values.only,
    failures: parsed.values.failures ?? false,
    keep: parsed.values.keep ?? false,
  };
}

// ---------------------------------------------------------------- checks

/** The newest modification time of the files under dir (0 if none). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}

/** Compiles src/ with tsc into BUILD_DIR, unless it is newer than every source. */
function checkDist(): void {
  const src = path.join(ROOT, 'src');
  if (fs.existsSync(DIST) && newestMtime(src) <= fs.statSync(DIST).mtimeMs) return;
  fs.rmSync(BUILD_DIR, { recursive: true, force: true });
  log(`compiling src/ into ${path.relative(ROOT, BUILD_DIR)} (tsc)`);
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', BUILD_DIR, '--declaration', 'false', '--sourceMap', 'false'], { encoding: 'utf8' });
  if (tsc.status !== 0) fail(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
}

interface Upstream {
  commit: string;
  packageJson: {
    version?: string;
    devDependencies?: Record<string, string>;
    dependencies?: Record<string, string>;
    jest?: { testRegex?: string; testEnvironment?: string };
  };
}

function checkRepo(opts: Options): Upstream {
  if (!fs.existsSync(opts.repo)) fail(`prom-client's git directory ${opts.repo} does not exist (set PROM_CLIENT_REPO)`);
  const git = spawnSync('git', ['--git-dir', opts.repo, 'rev-parse', '--verify', '--quiet', `${opts.tag}^{commit}`], { encoding: 'utf8' });
  if (git.error) fail(`git: ${git.error.message}`);
  if (git.status !== 0) {
    const isRepo = spawnSync('git', ['--git-dir', opts.repo, 'rev-parse', '--git-dir'], { encoding: 'utf8' }).status === 0;
    fail(isRepo ? `prom-client's git directory ${opts.repo} has no tag or commit ${opts.tag}` : `${opts.repo} is not a git directory (set PROM_CLIENT_REPO)`);
  }
  const commit = git.stdout.trim();
  let packageJson: Upstream['packageJson'];
  try {
    packageJson = JSON.parse(run('git', ['--git-dir', opts.repo, 'show', `${commit}:package.json`]));
  } catch (err) {
    fail(`${opts.tag}: cannot read package.json: ${(err as Error).message}`);
  }
  return { commit, packageJson };
}

// ---------------------------------------------------------------- npm install (cached)

interface Installed {
  nodeModules: string;
  versions: Record<string, string>;
}

/** jest, nock and prom-client's own dependencies (for its reference run), installed once per set of versions. */
function installTools(upstream: Upstream): Installed {
  const dev = upstream.packageJson.devDependencies ?? {};
  const jestSpec = dev.jest ?? '^29';
  if (!/^[~^]?29(\.|$)/.test(jestSpec)) log(`warning: prom-client asks for jest ${jestSpec}; this harness expects jest 29`);
  const wanted: Record<string, string> = { jest: jestSpec, nock: dev.nock ?? 'latest', ...(upstream.packageJson.dependencies ?? {}) };
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify({ wanted, node: process.versions.node.split('.')[0] }))
    .digest('hex')
    .slice(0, 12);
  const dir = path.join(CACHE_ROOT, `tools-jest${jestSpec.replace(/[^0-9.]/g, '')}-nock${wanted.nock.replace(/[^0-9.]/g, '')}-${key}`);
  const stamp = path.join(dir, 'installed.json');
  if (!fs.existsSync(stamp)) {
    log(`installing ${Object.entries(wanted).map(([n, v]) => `${n}@${v}`).join(' ')} into ${dir} (once)`);
    fs.mkdirSync(CACHE_ROOT, { recursive: true });
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp);
    fs.writeFileSync(path.join(tmp, 'package.json'), `${JSON.stringify({ name: 'prom-multiproc-suite-tools', private: true, dependencies: wanted }, null, 2)}\n`);
    const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: tmp, encoding: 'utf8' });
    if (npm.error || npm.status !== 0) {
      fs.rmSync(tmp, { recursive: true, force: true });
      fail(`npm install failed (it needs the npm registry):\n${npm.error?.message ?? (npm.stderr || npm.stdout).trim()}`);
    }
    const versions: Record<string, string> = {};
    for (const name of Object.keys(wanted)) versions[name] = readVersion(path.join(tmp, 'node_modules'), name);
    fs.writeFileSync(path.join(tmp, 'installed.json'), `${JSON.stringify(versions, null, 2)}\n`);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      // Another run installed the same set meanwhile: use that one.
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!fs.existsSync(stamp)) throw err;
    }
  }
  const versions = JSON.parse(fs.readFileSync(stamp, 'utf8')) as Record<string, string>;
  if (!versions.jest?.startsWith('29.')) fail(`the cached jest in ${dir} is ${versions.jest}, not 29.x: remove ${dir}`);
  return { nodeModules: path.join(dir, 'node_modules'), versions };
}

function readVersion(nodeModules: string, name: string): string {
  return (JSON.parse(fs.readFileSync(path.join(nodeModules, name, 'package.json'), 'utf8')) as { version: string }).version;
}

// ---------------------------------------------------------------- the temporary folders

function extract(opts: Options, commit: string, dest: string, paths: string[]): void {
  fs.mkdirSync(dest, { recursive: true });
  const tar = path.join(dest, '.archive.tar');
  run('git', ['--git-dir', opts.repo, 'archive', '--format=tar', '-o', tar, commit, ...paths]);
  run('tar', ['-xf', tar, '-C', dest]);
  fs.rmSync(tar);
}

function testFiles(dir: string, testRegex: RegExp): string[] {
  return fs
    .readdirSync(path.join(dir, 'test'), { recursive: true, encoding: 'utf8' })
    .map((f) => path.posix.join('test', f.split(path.sep).join('/')))
    .filter((f) => testRegex.test(f) && fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

/** The files (relative to the folder, without .js) that the tests require with a relative path outside test/, and which test files do. */
function requiredShims(dir: string, files: string[]): Map<string, Set<string>> {
  const wanted = new Map<string, Set<string>>();
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/require\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1])).replace(/\.js$/, '');
      if (target.startsWith('test/') || target.startsWith('../')) continue;
      if (!wanted.has(target)) wanted.set(target, new Set());
      wanted.get(target)!.add(file);
    }
  }
  return wanted;
}

/** The names the tests read from prom-client's index.js (`require('../index').X`, `const c = require('../index'); c.X`, destructuring), and which files do. */
function indexNamesUsed(dir: string, files: string[]): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  const add = (name: string, file: string) => {
    if (!used.has(name)) used.set(name, new Set());
    used.get(name)!.add(file);
  };
  const index = String.raw`require\(\s*['"](?:\.\.?\/)+index(?:\.js)?['"]\s*\)`;
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(new RegExp(`${index}\\s*\\.\\s*([A-Za-z_$][\\w$]*)`, 'g'))) add(m[1], file);
    for (const m of text.matchAll(new RegExp(`(?:const|let|var)\\s+([A-Za-z_$][\\w$]*)\\s*=\\s*${index}\\s*;`, 'g'))) {
      for (const n of text.matchAll(new RegExp(`\\b${escapeRegex(m[1])}\\s*\\.\\s*([A-Za-z_$][\\w$]*)`, 'g'))) add(n[1], file);
    }
    for (const m of text.matchAll(new RegExp(`(?:const|let|var)\\s*\\{([^}]*)\\}\\s*=\\s*${index}`, 'g'))) {
      for (const part of m[1].split(',')) {
        const name = part.split(':')[0].trim();
        if (name) add(name, file);
      }
    }
  }
  return used;
}

const SHIM_HELPERS = `'use strict';
// Helpers of the shims (see SHIMS in prom-multiproc's test/upstream/prom-client-suite.ts).
exports.pick = (from, names) => Object.fromEntries(names.map((n) => [n, from[n]]));
// A module of ours that index.js does not export (BUILD_DIR/<file>), as prom-client's lib/ file of the same role.
exports.internal = (file, name) => require(require('path').join(${JSON.stringify(path.dirname(DIST))}, file))[name];
exports.withStatics = (target, statics) => {
  if (target == null) return target;
  for (const [k, v] of Object.entries(statics)) if (!(k in target)) target[k] = v;
  return target;
};
`;

function writeShims(dir: string, wanted: Iterable<string>): string[] {
  const unmapped: string[] = [];
  const support = path.join(dir, 'suite-support');
  fs.mkdirSync(support, { recursive: true });
  fs.writeFileSync(path.join(support, 'shim-helpers.js'), SHIM_HELPERS);
  for (const target of new Set(['index', ...wanted])) {
    let expr = SHIMS[target];
    if (expr === undefined) {
      unmapped.push(target);
      expr = 'undefined';
    }
    const file = path.join(dir, `${target}.js`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const helpers = path.relative(path.dirname(file), path.join(support, 'shim-helpers.js'));
    fs.writeFileSync(
      file,
      `'use strict';
// prom-client's ${target}.js, mapped onto prom-multiproc by test/upstream/prom-client-suite.ts.
const ours = require(${JSON.stringify(DIST)});
const { pick, withStatics, internal } = require(${JSON.stringify(helpers.startsWith('.') ? helpers : `./${helpers}`)});
void pick; void withStatics; void internal;
module.exports = ${expr};
`,
    );
  }
  return unmapped;
}

/**
 * Loaded before every test file (jest setupFiles): refuses TCP connections to
 * anything but loopback, in case a request escapes nock (prom-client's
 * pushgateway tests name a private address), and in multiprocess mode gives
 * the file a fresh empty PROMETHEUS_MULTIPROC_DIR before it loads the library.
 */
const SETUP = `'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');

if (!net.Socket.prototype.__promClientSuiteGuard) {
  const connect = net.Socket.prototype.connect;
  const loopback = (host) =>
    host === undefined || host === null || host === '' || host === 'localhost' || /^127\\./.test(host) || host === '::1' || /^::ffff:127\\./.test(host);
  net.Socket.prototype.connect = function (...args) {
    let options = args[0];
    if (Array.isArray(options)) options = options[0];
    if (typeof options !== 'object' || options === null) options = typeof options === 'string' && !/^\\d+$/.test(options) ? { path: options } : { port: options, host: args[1] };
    if (options.path === undefined && !loopback(options.host)) {
      const target = options.host + ':' + options.port;
      if (process.env.PROM_SUITE_NET_LOG) fs.appendFileSync(process.env.PROM_SUITE_NET_LOG, target + '\\n');
      const err = Object.assign(new Error('prom-client-suite: connection to ' + target + ' refused (only loopback is allowed)'), { code: 'ECONNREFUSED' });
      process.nextTick(() => this.destroy(err));
      return this;
    }
    return connect.apply(this, args);
  };
  net.Socket.prototype.__promClientSuiteGuard = true;
}

delete process.env.prometheus_multiproc_dir;
if (process.env.PROM_SUITE_MULTIPROC_PARENT) {
  process.env.PROMETHEUS_MULTIPROC_DIR = fs.mkdtempSync(path.join(process.env.PROM_SUITE_MULTIPROC_PARENT, 'file-'));
} else {
  delete process.env.PROMETHEUS_MULTIPROC_DIR;
}
`;

function writeJestConfig(dir: string, upstream: Upstream, cacheDirectory: string, ignoreTransform: string[]): string {
  fs.mkdirSync(path.join(dir, 'suite-support'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'suite-support', 'setup.js'), SETUP);
  // A package.json of our own, so that nothing above the folder is taken for its project.
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name: 'prom-client-suite-run', private: true }, null, 2)}\n`);
  const config = {
    rootDir: dir,
    roots: ['<rootDir>/test'],
    testEnvironment: upstream.packageJson.jest?.testEnvironment ?? 'node',
    testRegex: upstream.packageJson.jest?.testRegex ?? '.*Test\\.js$',
    setupFiles: ['<rootDir>/suite-support/setup.js'],
    cacheDirectory,
    watchman: false,
    transformIgnorePatterns: ['/node_modules/', ...ignoreTransform.map(escapeRegex)],
  };
  const file = path.join(dir, 'jest.config.json');
  fs.writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

// ---------------------------------------------------------------- what this build lacks

interface Missing {
  /** Names the tests read from index.js that our index.js does not export. */
  index: { name: string; files: string[]; tests: number }[];
  /** Shims that export undefined, or an object with undefined members. */
  shims: { shim: string; expression: string; missing: string[]; files: string[]; tests: number }[];
}

const PROBE = `
const path = require('path');
const { dist, names, shims } = JSON.parse(process.env.PROM_SUITE_PROBE);
const ours = require(dist);
const out = { index: names.filter((n) => !(n in ours)), shims: {} };
for (const shim of shims) {
  let value;
  try {
    value = require(path.join(process.cwd(), shim + '.js'));
  } catch (err) {
    out.shims[shim] = ['(it throws: ' + err.message + ')'];
    continue;
  }
  if (value === undefined || value === null) out.shims[shim] = [String(value)];
  else if (typeof value === 'object') out.shims[shim] = Object.keys(value).filter((k) => value[k] === undefined);
  else out.shims[shim] = [];
}
process.stdout.write(JSON.stringify(out));
process.exit(0);
`;

/** Loads our index.js and every shim in a separate process and lists what the tests use that is not there. */
function probeMissing(dir: string, env: NodeJS.ProcessEnv, names: Map<string, Set<string>>, shims: Map<string, Set<string>>, ref: Reference): Missing {
  const input = { dist: DIST, names: [...names.keys()], shims: [...shims.keys()] };
  const r = spawnSync(process.execPath, ['-e', PROBE], { cwd: dir, env: { ...env, PROM_SUITE_PROBE: JSON.stringify(input) }, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) fail(`loading ${DIST} and the shims failed (exit ${r.status ?? r.signal}):\n${(r.stderr || r.stdout).trim()}`);
  const out = JSON.parse(r.stdout) as { index: string[]; shims: Record<string, string[]> };
  const testsIn = (files: Set<string>) => ref.tests.filter((t) => files.has(t.file)).length;
  return {
    index: out.index
      .map((name) => ({ name, files: [...names.get(name)!].sort(), tests: testsIn(names.get(name)!) }))
      .sort((a, b) => b.tests - a.tests || a.name.localeCompare(b.name)),
    shims: Object.entries(out.shims)
      .filter(([, missing]) => missing.length > 0)
      .map(([shim, missing]) => ({ shim, expression: SHIMS[shim] ?? 'undefined', missing, files: [...shims.get(shim)!].sort(), tests: testsIn(shims.get(shim)!) }))
      .sort((a, b) => b.tests - a.tests || a.shim.localeCompare(b.shim)),
  };
}

function printMissing(missing: Missing): void {
  if (missing.index.length === 0 && missing.shims.length === 0) return;
  console.log('\nWhat the tests use that this build does not have (tests: all the tests of the files that use it):');
  const rows = [
    ...missing.index.map((m) => [`index.js: ${m.name}`, m.tests, m.files.length] as const),
    ...missing.shims.map((m) => {
      const whole = m.missing.length === 1 && (m.missing[0] === 'undefined' || m.missing[0] === 'null');
      return [whole ? `${m.shim}.js = ${m.expression}` : `${m.shim}.js: ${m.missing.join(', ')}`, m.tests, m.files.length] as const;
    }),
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [what, tests, files] of rows) console.log(`  ${what.padEnd(width)}  ${String(tests).padStart(4)} tests in ${files} file${files === 1 ? '' : 's'}`);
}

// ---------------------------------------------------------------- running jest

interface JestAssertion {
  fullName: string;
  status: string;
  failureMessages: string[];
}

interface JestFileResult {
  name: string;
  status: string;
  message: string;
  assertionResults: JestAssertion[];
}

let running: ReturnType<typeof spawn> | undefined;

async function runJest(
  label: string,
  dir: string,
  config: string,
  tools: Installed,
  only: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<FileRun[]> {
  const output = path.join(dir, `jest-${label}.json`);
  const logFile = path.join(dir, `jest-${label}.log`);
  const args = [
    path.join(tools.nodeModules, 'jest', 'bin', 'jest.js'),
    '--config',
    config,
    '--ci',
    '--json',
    '--outputFile',
    output,
    '--forceExit',
    '--passWithNoTests',
  ];
  if (only !== undefined) args.push('--testPathPattern', escapeRegex(only));
  const started = performance.now();
  log(`jest: ${label}...`);
  const out = fs.openSync(logFile, 'w');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', out, out], detached: true });
    running = child;
    const timer = setTimeout(() => {
      log(`jest: ${label} still running after ${JEST_TIMEOUT_MS / 60000} minutes: killed`);
      killGroup(child);
    }, JEST_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (c, signal) => {
      clearTimeout(timer);
      running = undefined;
      resolve(signal ? null : c);
    });
  });
  fs.closeSync(out);
  log(`jest: ${label} done in ${((performance.now() - started) / 1000).toFixed(0)} s (exit ${code})`);
  if (!fs.existsSync(output)) {
    const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
    fail(`jest (${label}) wrote no results (exit ${code}); the end of its output:\n${tail}`);
  }
  const json = JSON.parse(fs.readFileSync(output, 'utf8')) as { testResults: JestFileResult[] };
  return json.testResults.map((r) => fileRun(dir, r)).sort((a, b) => a.file.localeCompare(b.file));
}

function killGroup(child: ReturnType<typeof spawn>): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

/** The lines of a jest failure message before its stack trace, without blank lines. */
function messageLines(message: string): string[] {
  const lines: string[] = [];
  for (const raw of stripAnsi(message).split('\n')) {
    const line = raw.trimEnd();
    if (/^\s+at .+/.test(line) || /^\s*>?\s*\d+ \|/.test(line)) break; // the stack, or jest's code frame
    if (line.trim() === '' || line.trim() === '● Test suite failed to run') continue;
    lines.push(line.trim() === line ? line : line.replace(/^ {4}/, ''));
  }
  return lines;
}

function causeOf(messages: string[]): Cause {
  const texts = messages.map(stripAnsi);
  if (texts.length > 0 && texts.every((t) => t.includes('toThrowErrorMatchingSnapshot') && t.includes('Snapshot name:') && !t.includes('did not throw'))) {
    return 'message-snapshot';
  }
  if (texts.length > 0 && texts.every((t) => /toMatch(Inline)?Snapshot/.test(t) && t.includes('Snapshot name:'))) return 'snapshot';
  return 'other';
}

function fileRun(dir: string, r: JestFileResult): FileRun {
  const file = path.relative(dir, r.name).split(path.sep).join('/');
  const tests: TestResult[] = r.assertionResults.map((a) => {
    if (a.status === 'passed') return { file, name: a.fullName, status: 'passed' };
    if (a.status !== 'failed') return { file, name: a.fullName, status: 'skipped' };
    const detail = a.failureMessages.flatMap(messageLines).slice(0, DETAIL_LINES);
    return { file, name: a.fullName, status: 'failed', cause: causeOf(a.failureMessages), message: detail[0] ?? '', detail };
  });
  const run: FileRun = { file, tests };
  if (r.status === 'failed' && r.assertionResults.length === 0) run.suiteError = messageLines(r.message).slice(0, DETAIL_LINES).join('\n') || 'failed to run';
  return run;
}

// ---------------------------------------------------------------- prom-client's own run (the list of tests)

interface Reference {
  commit: string;
  jest: string;
  node: string;
  tests: { file: string; name: string; status: string }[];
}

async function reference(opts: Options, upstream: Upstream, tools: Installed, work: string, env: NodeJS.ProcessEnv): Promise<Reference> {
  const file = path.join(CACHE_ROOT, `reference-${upstream.commit.slice(0, 12)}-jest${tools.versions.jest}-node${process.versions.node.split('.')[0]}.json`);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as Reference;
  log(`running the tests against prom-client ${opts.tag} itself once, for the list of tests (cached in ${file})`);
  const dir = path.join(work, 'prom-client');
  extract(opts, upstream.commit, dir, ['test', 'lib', 'index.js']);
  fs.symlinkSync(tools.nodeModules, path.join(dir, 'node_modules'));
  const config = writeJestConfig(dir, upstream, path.join(CACHE_ROOT, 'jest-cache'), []);
  const runs = await runJest('prom-client', dir, config, tools, undefined, env);
  const ref: Reference = {
    commit: upstream.commit,
    jest: tools.versions.jest,
    node: process.version,
    tests: runs.flatMap((r) => r.tests.map((t) => ({ file: t.file, name: t.name, status: t.status }))),
  };
  const broken = runs.filter((r) => r.suiteError);
  if (broken.length > 0) fail(`prom-client's own tests did not load: ${broken.map((r) => `${r.file}: ${r.suiteError}`).join('; ')}`);
  const failed = ref.tests.filter((t) => t.status !== 'passed');
  if (failed.length > 0) {
    // Not cached: a flaky or broken reference run would hide tests from later runs.
    log(`warning: ${failed.length} of prom-client's own tests did not pass here: ${failed.map((t) => `${t.file} › ${t.name}`).join('; ')}`);
  } else {
    fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(ref, null, 2)}\n`);
    fs.renameSync(`${file}.tmp`, file);
  }
  return ref;
}

/** Our results, completed with every test of prom-client's run that did not run here. */
function complete(runs: FileRun[], ref: Reference, only: string | undefined): { tests: TestResult[]; extra: TestResult[] } {
  const byFile = new Map(runs.map((r) => [r.file, r]));
  const tests: TestResult[] = [];
  const seen = new Set<string>();
  const refFiles = new Set<string>();
  for (const t of ref.tests) {
    if (only !== undefined && !t.file.includes(only)) continue;
    refFiles.add(t.file);
    const fileRun = byFile.get(t.file);
    const ours = fileRun?.tests.find((o) => o.name === t.name && !seen.has(`${o.file}\0${o.name}`));
    if (ours) {
      seen.add(`${ours.file}\0${ours.name}`);
      tests.push(ours);
      continue;
    }
    const why = fileRun?.suiteError ?? (fileRun ? 'not collected in this run (a describe block threw, or its title differs)' : 'its file did not run');
    const detail = why.split('\n');
    tests.push({ file: t.file, name: t.name, status: 'failed', cause: 'not-run', message: `not run: ${detail[0]}`, detail });
  }
  const extra = runs.flatMap((r) => r.tests).filter((t) => !seen.has(`${t.file}\0${t.name}`));
  for (const r of runs) if (!refFiles.has(r.file)) log(`warning: ${r.file} is not in prom-client's own run`);
  return { tests, extra };
}

function summarize(mode: Mode, tests: TestResult[], extra: TestResult[], total: number): ModeSummary {
  const causes: Record<Cause, number> = { 'message-snapshot': 0, snapshot: 0, 'not-run': 0, other: 0 };
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const t of tests) {
    if (t.status === 'passed') passed++;
    else if (t.status === 'skipped') skipped++;
    else {
      failed++;
      causes[t.cause ?? 'other']++;
    }
  }
  const passedOrMessageOnly = passed + causes['message-snapshot'];
  const goal = Math.ceil((total * GOAL[mode].passed) / GOAL[mode].of);
  return { passed, failed, skipped, total, causes, passedOrMessageOnly, goal, goalMet: passedOrMessageOnly >= goal, extra: extra.length };
}

// ---------------------------------------------------------------- report

function table(rows: string[][], rightAligned: Set<number>): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

function counts(tests: TestResult[]): [number, number, number] {
  const passed = tests.filter((t) => t.status === 'passed').length;
  const failed = tests.filter((t) => t.status === 'failed').length;
  return [passed, failed, tests.length];
}

function printTable(results: Record<Mode, TestResult[]>, summaries: Record<Mode, ModeSummary>): void {
  const files = [...new Set(MODES.flatMap((m) => results[m].map((t) => t.file)))].sort();
  const rows: string[][] = [['file', 'in-process', 'pass', 'fail', 'total', 'multiprocess', 'pass', 'fail', 'total']];
  for (const file of files) {
    const row = [file];
    for (const m of MODES) row.push('', ...counts(results[m].filter((t) => t.file === file)).map(String));
    rows.push(row);
  }
  const totalRow = ['total'];
  for (const m of MODES) totalRow.push('', ...counts(results[m]).map(String));
  rows.push(totalRow);
  const text = table(rows, new Set([2, 3, 4, 6, 7, 8]));
  const lines = text.split('\n');
  const rule = '-'.repeat(Math.max(...lines.map((l) => l.length)));
  console.log([lines[0], rule, ...lines.slice(1, -1), rule, lines[lines.length - 1]].join('\n'));
  console.log('');
  for (const m of MODES) {
    const s = summaries[m];
    console.log(
      `${MODE_LABEL[m].padEnd(12)}  ${s.passed} of ${s.total} passed; ${s.failed} failed: ` +
        `${s.causes['message-snapshot']} only an error-message snapshot, ${s.causes.snapshot} another snapshot (exposition), ` +
        `${s.causes['not-run']} not run (file or describe failed to load), ${s.causes.other} other` +
        (s.skipped ? `; ${s.skipped} skipped` : '') +
        (s.extra ? `; ${s.extra} extra tests not in prom-client's run` : ''),
    );
    console.log(
      `${''.padEnd(12)}  goal ${GOAL[m].passed}/${GOAL[m].of} of ${s.total} = ${s.goal}, error-message snapshots allowed: ` +
        `${s.passedOrMessageOnly} -> ${s.goalMet ? 'met' : `not met (${s.goal - s.passedOrMessageOnly} short)`}`,
    );
  }
}

/** The first line of a failure that says what went wrong, with test-specific numbers and names kept. */
function signature(t: TestResult): string {
  const lines = t.detail ?? [];
  const first = lines[0] ?? '';
  if (t.cause === 'not-run') return first.startsWith('not run') ? first : `not run: ${first}`;
  if (/^(Error: )?expect\(/.test(first)) {
    const matcher = first.replace(/^Error: /, '');
    const hint = lines.slice(1).find((l) => /^(Expected|Received|Snapshot name)/.test(l.trim()) && !l.trim().startsWith('Snapshot name'));
    return hint ? `${matcher} | ${hint.trim()}` : matcher;
  }
  return first;
}

function printCommonCauses(results: Record<Mode, TestResult[]>): void {
  for (const m of MODES) {
    const groups = new Map<string, number>();
    for (const t of results[m]) if (t.status === 'failed') groups.set(signature(t), (groups.get(signature(t)) ?? 0) + 1);
    const top = [...groups.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 12);
    if (top.length === 0) continue;
    console.log(`\nMost common failure messages, ${MODE_LABEL[m]}:`);
    for (const [sig, n] of top) console.log(`  ${String(n).padStart(4)}  ${sig.length > 160 ? `${sig.slice(0, 157)}...` : sig}`);
  }
}

function printFailures(results: Record<Mode, TestResult[]>): void {
  for (const m of MODES) {
    const failed = results[m].filter((t) => t.status === 'failed');
    console.log(`\n==== failures, ${MODE_LABEL[m]} (${failed.length}) ====`);
    let file = '';
    for (const t of failed) {
      if (t.file !== file) {
        file = t.file;
        console.log(`\n## ${file} (${failed.filter((f) => f.file === file).length})`);
      }
      console.log(`- ${t.name}  [${t.cause}]`);
      for (const line of (t.detail ?? []).slice(0, 6)) console.log(`    ${line.length > 200 ? `${line.slice(0, 197)}...` : line}`);
    }
  }
}

function writeJson(file: string, data: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(data, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

function gitInfo(): { commit: string; dirty: boolean } {
  const commit = spawnSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const status = spawnSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).stdout ?? '';
  return { commit, dirty: status.trim() !== '' };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const startedMs = performance.now();
  const opts = parseOptions(process.argv.slice(2));
  checkDist();
  const upstream = checkRepo(opts);
  const tools = installTools(upstream);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-client-suite-'));
  const keep = opts.keep;
  const cleanup = () => {
    if (running) killGroup(running);
    if (!keep) fs.rmSync(work, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const baseEnv: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' };
    delete baseEnv.PROMETHEUS_MULTIPROC_DIR;
    delete baseEnv.prometheus_multiproc_dir;
    delete baseEnv.PROM_SUITE_MULTIPROC_PARENT;
    const ref = await reference(opts, upstream, tools, work, baseEnv);

    const dir = path.join(work, 'prom-multiproc');
    extract(opts, upstream.commit, dir, ['test']);
    fs.symlinkSync(tools.nodeModules, path.join(dir, 'node_modules'));
    const testRegex = new RegExp(upstream.packageJson.jest?.testRegex ?? '.*Test\\.js$');
    const files = testFiles(dir, testRegex);
    if (opts.only !== undefined && !files.some((f) => f.includes(opts.only!))) {
      fail(`no test file of ${opts.tag} contains "${opts.only}"; the files are:\n  ${files.join('\n  ')}`);
    }
    const shimUse = requiredShims(dir, files);
    const unmapped = writeShims(dir, shimUse.keys());
    for (const u of unmapped) log(`warning: the tests require ${u}.js, which SHIMS does not map: it exports undefined (add it to SHIMS)`);
    const config = writeJestConfig(dir, upstream, path.join(CACHE_ROOT, 'jest-cache'), [BUILD_DIR + path.sep]);
    const netLog = path.join(work, 'blocked-connections.log');
    const selected = opts.only === undefined ? files : files.filter((f) => f.includes(opts.only!));
    const selectedShims = requiredShims(dir, selected);
    const missing = probeMissing(dir, baseEnv, indexNamesUsed(dir, selected), selectedShims, ref);

    const results = {} as Record<Mode, TestResult[]>;
    const extras = {} as Record<Mode, TestResult[]>;
    const summaries = {} as Record<Mode, ModeSummary>;
    const multiprocParent = path.join(work, 'multiproc-dirs');
    for (const m of MODES) {
      const env: NodeJS.ProcessEnv = { ...baseEnv, PROM_SUITE_NET_LOG: netLog };
      if (m === 'multiprocess') {
        fs.mkdirSync(multiprocParent);
        env.PROM_SUITE_MULTIPROC_PARENT = multiprocParent;
      }
      const runs = await runJest(m, dir, config, tools, opts.only, env);
      if (m === 'multiprocess') {
        const made = fs.readdirSync(multiprocParent).length;
        log(`multiprocess: ${made} directories made for ${runs.length} test files`);
        fs.rmSync(multiprocParent, { recursive: true, force: true });
      }
      const total = opts.only === undefined ? ref.tests.length : ref.tests.filter((t) => t.file.includes(opts.only!)).length;
      const { tests, extra } = complete(runs, ref, opts.only);
      results[m] = tests;
      extras[m] = extra;
      summaries[m] = summarize(m, tests, extra, total);
    }
    const blocked = fs.existsSync(netLog) ? fs.readFileSync(netLog, 'utf8').split('\n').filter(Boolean) : [];

    console.log(`\nprom-client ${opts.tag} (${upstream.commit.slice(0, 12)}) unit tests against tsc output of ${ROOT}/src (jest ${tools.versions.jest}, nock ${tools.versions.nock})\n`);
    printTable(results, summaries);
    if (blocked.length > 0) console.log(`\n${blocked.length} outbound connections to non-loopback addresses were refused: ${[...new Set(blocked)].join(', ')}`);
    printMissing(missing);
    printCommonCauses(results);
    if (opts.failures) printFailures(results);

    const out = path.join(RESULTS_DIR, opts.only === undefined ? 'prom-client-suite.json' : 'prom-client-suite-partial.json');
    const git = gitInfo();
    writeJson(out, {
      tool: 'test/upstream/prom-client-suite.ts',
      command: `node --import tsx test/upstream/prom-client-suite.ts ${process.argv.slice(2).join(' ')}`.trim(),
      startedAt,
      durationSeconds: Math.round((performance.now() - startedMs) / 1000),
      promClient: { tag: opts.tag, commit: upstream.commit, referenceTests: ref.tests.length },
      checkout: { root: ROOT, ...git },
      node: process.version,
      tools: tools.versions,
      only: opts.only ?? null,
      blockedConnections: blocked,
      goals: GOAL,
      summary: summaries,
      missing,
      modes: Object.fromEntries(MODES.map((m) => [m, { tests: results[m], extra: extras[m] }])),
    });
    console.log(`\nresults: ${path.relative(process.cwd(), out) || out}`);
    if (opts.keep) {
      const jest = `node ${path.join(tools.nodeModules, 'jest', 'bin', 'jest.js')} --config jest.config.json`;
      console.log(`temporary folder kept: ${work}\n  rerun in-process:   cd ${dir} && ${jest}\n  rerun multiprocess: cd ${dir} && mkdir -p dirs && PROM_SUITE_MULTIPROC_PARENT=$PWD/dirs ${jest}`);
    }
  } finally {
    cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof HarnessError) log(`error: ${err.message}`);
    else log(`error: the harness failed: ${(err as Error)?.stack ?? String(err)}`);
    process.exit(2);
  },
);
