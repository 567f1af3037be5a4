// What loading the package costs, as structure, never as time: which
// dependencies the build (dist/) loads when it is required, when a metric is
// used in-process and when one is used with a directory; that it works when
// prom-client cannot be resolved at all (an npm alias `prom-client ->
// prom-multiproc` would make it resolve to the package itself); and that the
// mmap addon is found where node-pre-gyp would find it, without it. Each case
// runs in a fresh plain-node child whose module resolution is spied on.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from './helpers/fixtures.js';

const ROOT = path.join(__dirname, '..');
const LIB = path.join(ROOT, 'dist', 'index.js');

/**
 * Runs in the child: records every file (or built-in) that a require resolves
 * to, optionally makes some requests unresolvable or the addon's direct path
 * absent, requires the build, then uses a counter and scrapes; prints what
 * was resolved before and after the use, and the exposition, as JSON.
 */
const CHILD = `
const Module = require('node:module');
const fs = require('node:fs');
const [lib, use, hidden, hideAddonFile, touch] = process.argv.slice(1);
const nodesCwd = process.cwd;
const builtins = new Set();
const load = Module._load;
Module._load = function (request, ...rest) {
  // A node: request never reaches _resolveFilename, so built-ins are seen here.
  if (Module.isBuiltin(request)) builtins.add(request.replace(/^node:/, ''));
  return load.call(this, request, ...rest);
};
const hiddenRequests = hidden ? hidden.split(',') : [];
const resolved = new Set();
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (hiddenRequests.some((h) => request === h || (h.endsWith('/*') && request.startsWith(h.slice(0, -1))))) {
    const err = new Error("Cannot find module '" + request + "' (hidden by the test)");
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  const file = resolve.call(this, request, ...rest);
  resolved.add(file);
  return file;
};
if (hideAddonFile === 'yes') {
  const exists = fs.existsSync;
  fs.existsSync = (file) => (String(file).endsWith('.node') ? false : exists(file));
}
const loaded = require(lib);
const afterRequire = [...resolved];
const builtinsAfterRequire = [...builtins];
const report = (extra) => {
  const builtinsAfterUse = [...builtins];
  // Reading the named exports afterwards shows what reading them loads.
  for (const name of touch ? touch.split(',') : []) void loaded[name];
  const dir = process.env.PROMETHEUS_MULTIPROC_DIR;
  const locks = dir ? fs.readdirSync(dir).filter((name) => name.endsWith('.lock') && fs.lstatSync(dir + '/' + name).isDirectory()) : [];
  process.stdout.write(JSON.stringify({ afterRequire, afterUse: [...resolved], builtinsAfterRequire, builtinsAfterUse, builtinsAfterTouch: [...builtins], locks, cwdIsNodes: process.cwd === nodesCwd, ...extra }));
};
if (use !== 'use') report({});
else {
  try {
    new loaded.Counter({ name: 'startup_test_total', help: 'Counted.' }).inc();
  } catch (err) {
    report({ error: { name: err.name, message: err.message } });
    process.exit(0);
  }
  new loaded.MultiprocessRegistry().metrics().then((text) => report({ text }));
}
`;

interface ChildReport {
  afterRequire: string[];
  afterUse: string[];
  /** Built-in modules loaded (without `node:`) after the require, after the use, after reading `touch`. */
  builtinsAfterRequire: string[];
  builtinsAfterUse: string[];
  builtinsAfterTouch: string[];
  /** Lock directories in the multiprocess directory while the child still runs. */
  locks: string[];
  /** Whether process.cwd is still node's own (graceful-fs replaces it). */
  cwdIsNodes: boolean;
  text?: string;
  error?: { name: string; message: string };
  /** What the library logged (console.warn). */
  stderr: string;
}

interface ChildOptions {
  use?: boolean;
  dir?: string;
  /** Requests that cannot be resolved in the child; `name/*`: everything under name. */
  hidden?: string[];
  /** Make every `.node` file look absent to fs.existsSync (the addon's direct path). */
  hideAddonFile?: boolean;
  /** Exports read after the use (or the require). */
  touch?: string[];
}

function runChild(options: ChildOptions): ChildReport {
  assert.ok(fs.existsSync(LIB), `${LIB} does not exist: build first (npm run build)`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.PROMETHEUS_MULTIPROC_DIR;
  delete env.NODE_OPTIONS;
  if (options.dir) env.PROMETHEUS_MULTIPROC_DIR = options.dir;
  const args = [LIB, options.use ? 'use' : 'require', (options.hidden ?? []).join(','), options.hideAddonFile ? 'yes' : 'no', (options.touch ?? []).join(',')];
  // Run from a folder outside the project, with argv holding a user option as an application's would.
  const run = spawnSync(process.execPath, ['-e', CHILD, ...args, '--dir', '/nonexistent'], { encoding: 'utf8', env, cwd: path.dirname(options.dir ?? ROOT) });
  assert.equal(run.status, 0, `child exited ${run.status}: ${run.stderr}`);
  return { ...(JSON.parse(run.stdout) as Omit<ChildReport, 'stderr'>), stderr: run.stderr };
}

const PACKAGES = {
  promClient: `${path.sep}node_modules${path.sep}prom-client${path.sep}`,
  mmapIo: `${path.sep}node_modules${path.sep}@riaskov${path.sep}mmap-io${path.sep}`,
  nodePreGyp: `${path.sep}node_modules${path.sep}@mapbox${path.sep}node-pre-gyp${path.sep}`,
  properLockfile: `${path.sep}node_modules${path.sep}proper-lockfile${path.sep}`,
};

function loadedFrom(files: readonly string[], marker: string): string[] {
  return files.filter((file) => file.includes(marker));
}

describe('start-up: what the package loads', () => {
  test('requiring it loads none of prom-client, the mmap addon, node-pre-gyp, proper-lockfile, node:http', () => {
    const { afterRequire } = runChild({});
    for (const [name, marker] of Object.entries(PACKAGES)) assert.deepEqual(loadedFrom(afterRequire, marker), [], name);
    for (const builtin of ['node:http', 'http', 'node:zlib', 'zlib']) assert.ok(!afterRequire.includes(builtin), builtin);
  });

  test('a metric used in-process loads none of them either', () => {
    const { afterUse, text } = runChild({ use: true });
    assert.match(text!, /^startup_test_total 1(\.0)?$/m);
    for (const [name, marker] of Object.entries(PACKAGES)) assert.deepEqual(loadedFrom(afterUse, marker), [], name);
  });

  test('requiring it reads one file of the package: dist/index.js, the bundle npm run build makes (src/bundle.mjs)', () => {
    const { afterRequire } = runChild({});
    assert.deepEqual(afterRequire.filter((file) => file.startsWith(ROOT + path.sep) && !file.includes(`${path.sep}node_modules${path.sep}`)), [LIB]);
  });

  test('the surfaces load when their export is first read, not with the package or a first metric', () => {
    // The default metrics load node:perf_hooks and node:v8 with their files: they show which files have run.
    const { builtinsAfterRequire, builtinsAfterUse, builtinsAfterTouch } = runChild({ use: true, touch: ['collectDefaultMetrics'] });
    for (const builtin of ['perf_hooks', 'v8']) {
      assert.ok(!builtinsAfterRequire.includes(builtin), `${builtin} loaded by the require`);
      assert.ok(!builtinsAfterUse.includes(builtin), `${builtin} loaded by the first metric`);
      assert.ok(builtinsAfterTouch.includes(builtin), `${builtin} not loaded by reading collectDefaultMetrics`);
    }
  });

  test('a metric used with a directory takes its random tokens without node:crypto where /dev/urandom reads', (t) => {
    if (!fs.existsSync('/dev/urandom')) return t.skip('no /dev/urandom here: node:crypto is the source');
    const { dir, cleanup } = tempDir('prom-multiproc-startup-');
    t.after(cleanup);
    const { builtinsAfterUse, text } = runChild({ use: true, dir });
    assert.match(text!, /^startup_test_total 1(\.0)?$/m);
    assert.ok(!builtinsAfterUse.includes('crypto'), `loaded: ${builtinsAfterUse.join(', ')}`);
    const marker = fs.readdirSync(dir).find((name) => name.endsWith('.writer'));
    assert.ok(marker, `no marker in ${fs.readdirSync(dir).join(', ')}`);
    assert.match((JSON.parse(fs.readFileSync(path.join(dir, marker), 'utf8')) as { instance: string }).instance, /^[0-9a-f]{16}$/);
  });

  test('a metric used with a directory loads the addon binary itself: no node-pre-gyp, no package index, no prom-client; proper-lockfile comes with the bundle', (t) => {
    const { dir, cleanup } = tempDir('prom-multiproc-startup-');
    t.after(cleanup);
    const { afterRequire, afterUse, text, locks, cwdIsNodes } = runChild({ use: true, dir });
    assert.match(text!, /^startup_test_total 1(\.0)?$/m);
    assert.deepEqual(loadedFrom(afterRequire, PACKAGES.mmapIo), [], 'nothing of the addon before the first metric');
    const addon = loadedFrom(afterUse, PACKAGES.mmapIo);
    assert.equal(addon.length, 2, `the addon's package.json and binary, got ${addon.join(', ')}`);
    assert.ok(addon.some((file) => file.endsWith('package.json')));
    assert.ok(addon.some((file) => file.endsWith('.node')));
    assert.deepEqual(loadedFrom(afterUse, PACKAGES.nodePreGyp), []);
    assert.deepEqual(loadedFrom(afterUse, PACKAGES.promClient), []);
    // The liveness lock is taken (proper-lockfile's lock directory), by the copy inside the bundle
    // (src/bundle.mjs), without graceful-fs, which would replace process.cwd.
    assert.equal(locks.length, 1, `lock directories: ${locks.join(', ')}`);
    assert.deepEqual(loadedFrom(afterUse, PACKAGES.properLockfile), []);
    assert.deepEqual(loadedFrom(afterUse, `${path.sep}node_modules${path.sep}graceful-fs${path.sep}`), []);
    assert.ok(cwdIsNodes, 'process.cwd replaced');
  });

  test("without the addon's built file where node-pre-gyp puts it, the package's own require finds it (argv kept away from node-pre-gyp)", (t) => {
    const { dir, cleanup } = tempDir('prom-multiproc-startup-');
    t.after(cleanup);
    const { afterUse, text } = runChild({ use: true, dir, hideAddonFile: true });
    assert.match(text!, /^startup_test_total 1(\.0)?$/m);
    assert.notDeepEqual(loadedFrom(afterUse, PACKAGES.nodePreGyp), []);
  });

  test('when neither way loads the addon, the warning names the path tried', (t) => {
    const { dir, cleanup } = tempDir('prom-multiproc-startup-');
    t.after(cleanup);
    // The package's index is hidden, its package.json is not: the direct path is computed, and absent.
    const { stderr, text } = runChild({ use: true, dir, hideAddonFile: true, hidden: ['@riaskov/mmap-io'] });
    // The library does not throw: the series waits in memory for its file, and the reason is logged.
    assert.match(stderr, /cannot map \S+counter_\d+\.db: cannot load the mmap addon of @riaskov\/mmap-io: \S+mmap_io\.node does not exist, and require\('@riaskov\/mmap-io'\) failed: Cannot find module '@riaskov\/mmap-io'/);
    assert.doesNotMatch(text!, /^startup_test_total/m);
  });
});

describe('start-up: prom-client unresolvable', () => {
  test('the package works in-process and with a directory', (t) => {
    const inProcess = runChild({ use: true, hidden: ['prom-client', 'prom-client/*'] });
    assert.match(inProcess.text!, /^startup_test_total 1(\.0)?$/m);
    const { dir, cleanup } = tempDir('prom-multiproc-startup-');
    t.after(cleanup);
    const withDir = runChild({ use: true, dir, hidden: ['prom-client', 'prom-client/*'] });
    assert.match(withDir.text!, /^startup_test_total 1(\.0)?$/m);
  });

  test('package.json has prom-client for development only: no dependency, no peer (an alias prom-client -> prom-multiproc would refuse itself)', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, unknown> | undefined>;
    assert.equal(manifest.dependencies?.['prom-client'], undefined);
    assert.ok(manifest.devDependencies?.['prom-client']);
    assert.equal(manifest.peerDependencies?.['prom-client'], undefined);
  });

  test("no file of the build requires prom-client (its types only, in the .d.ts files)", () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (/\.(c|m)?js$/.test(entry.name) && /require\(["']prom-client["']\)|from ["']prom-client["']/.test(fs.readFileSync(file, 'utf8'))) offenders.push(file);
      }
    };
    walk(path.join(ROOT, 'dist'));
    assert.deepEqual(offenders, []);
  });
});

describe('start-up: the addon path', () => {
  test("is node-pre-gyp's own answer for the installed package", async () => {
    const { addonPath } = await import('../src/storage/mmap.js');
    const manifest = require.resolve('@riaskov/mmap-io/package.json');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodePreGyp = require('@mapbox/node-pre-gyp') as { find(packageJson: string): string };
    const argv = process.argv;
    process.argv = argv.slice(0, 2);
    try {
      assert.equal(addonPath(manifest), nodePreGyp.find(manifest));
    } finally {
      process.argv = argv;
    }
  });

  test('is undefined where it cannot be computed the same way (N-API builds, unknown placeholders, no manifest)', async (t) => {
    const { addonPath } = await import('../src/storage/mmap.js');
    const { dir, cleanup } = tempDir('prom-multiproc-startup-');
    t.after(cleanup);
    const write = (binary: Record<string, unknown>): string => {
      const file = path.join(dir, 'package.json');
      fs.writeFileSync(file, JSON.stringify({ name: 'x', version: '1.0.0', binary }));
      return file;
    };
    assert.equal(addonPath(write({ module_name: 'x', module_path: './lib/{node_napi_label}/', napi_versions: [3] })), undefined);
    assert.equal(addonPath(write({ module_name: 'x', module_path: './lib/{libc}/' })), undefined);
    assert.equal(addonPath(write({ module_path: './lib/' })), undefined);
    assert.equal(addonPath(path.join(dir, 'absent.json')), undefined);
    assert.equal(addonPath(write({ module_name: 'x', module_path: './b/{configuration}/{node_abi}-{platform}-{arch}/' })), path.join(dir, 'b', 'Release', `node-v${process.versions.modules}-${process.platform}-${process.arch}`, 'x.node'));
  });
});
