// The alias route, end to end: an app whose package.json maps `prom-client`
// and `@prometheus-io/client` to prom-multiproc (npm aliases plus overrides,
// built by test/helpers/alias-app.ts from `npm pack` of this build), with the
// real express-prom-bundle and fastify-metrics from the npm registry, set up
// only as their READMEs teach (test/fixtures/alias-app/). Under node:cluster
// with 3 workers, one of them SIGKILLed and replaced, every scrape of the
// library's own /metrics, whichever worker answers, shows the merged totals of
// every request, the dead worker's included. The first run installs the app
// (network: the npm registry); later runs of the same build use the cache.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import {
  ALIASED,
  APP_FIXTURE,
  appManifest,
  installedCopies,
  lockedVersions,
  prepareAliasApp,
  publishedAlias,
  RegistryUnreachable,
  type AliasApp,
} from './helpers/alias-app.js';
import { parseExposition, seriesKey } from './helpers/concurrency-checks.js';
import {
  assertAllGone,
  descendants,
  exampleEnv,
  isRunning,
  freePort,
  killQuietly,
  ROOT,
  runCommand,
  startProcess,
  type RunningProcess,
} from './helpers/examples-processes.js';
import { tempDir } from './helpers/fixtures.js';
import { eventually, request, type HttpResult } from './helpers/http.js';
import { skipUnlessInstalled } from './helpers/programs.js';
import { assertPromtoolParses } from './helpers/promtool.js';


let app: AliasApp | undefined;
let unavailable: string | undefined;

before(
  async () => {
    try {
      app = await prepareAliasApp();
    } catch (err) {
      if (err instanceof RegistryUnreachable && !process.env.CI) unavailable = `the npm registry is unreachable: ${err.message.split('\n')[0]}`;
      else throw err;
    }
  },
  { timeout: 10 * 60 * 1000 },
);
after(() => app?.cleanup());

/** The app, or undefined after skipping `t` (registry unreachable outside CI). */
function installedApp(t: TestContext): AliasApp | undefined {
  if (unavailable !== undefined) {
    t.skip(unavailable);
    return undefined;
  }
  assert.ok(app, 'the alias app was installed');
  return app;
}

/** The requests of one round, and what each answers. */
const ROUND: Array<{ method: string; path: string; status: number }> = [
  { method: 'GET', path: '/', status: 200 },
  { method: 'GET', path: '/users/1', status: 200 },
  { method: 'GET', path: '/users/2', status: 200 },
  { method: 'POST', path: '/orders', status: 201 },
  { method: 'GET', path: '/fail', status: 500 },
  { method: 'GET', path: '/no-such-page', status: 404 },
];

/** How many requests of one round each library records, by its labels. */
const RECORDED_PER_ROUND = {
  // express-prom-bundle: every request through the middleware, its path normalised (`#val` for an id).
  express: [
    [{ method: 'GET', path: '/', status_code: '200' }, 1],
    [{ method: 'GET', path: '/users/#val', status_code: '200' }, 2],
    [{ method: 'POST', path: '/orders', status_code: '201' }, 1],
    [{ method: 'GET', path: '/fail', status_code: '500' }, 1],
    [{ method: 'GET', path: '/no-such-page', status_code: '404' }, 1],
  ],
  // fastify-metrics: registered routes only (its default), by route template; /metrics itself is a route too.
  fastify: [
    [{ method: 'GET', route: '/', status_code: '200' }, 1],
    [{ method: 'GET', route: '/users/:id', status_code: '200' }, 2],
    [{ method: 'POST', route: '/orders', status_code: '201' }, 1],
    [{ method: 'GET', route: '/fail', status_code: '500' }, 1],
  ],
  // @promster/express: every request, method in lower case, its path normalised (`#val` for an id).
  promster: [
    [{ method: 'get', path: '/', status_code: '200' }, 1],
    [{ method: 'get', path: '/users/#val', status_code: '200' }, 2],
    [{ method: 'post', path: '/orders', status_code: '201' }, 1],
    [{ method: 'get', path: '/fail', status_code: '500' }, 1],
    [{ method: 'get', path: '/no-such-page', status_code: '404' }, 1],
  ],
  // The NestJS app's own counter and histogram (nest-app.js), by route template; `unmatched` for a 404.
  nest: [
    [{ method: 'GET', route: '/', status_code: '200' }, 1],
    [{ method: 'GET', route: '/users/:id', status_code: '200' }, 2],
    [{ method: 'POST', route: '/orders', status_code: '201' }, 1],
    [{ method: 'GET', route: '/fail', status_code: '500' }, 1],
    [{ method: 'GET', route: 'unmatched', status_code: '404' }, 1],
  ],
} satisfies Record<string, Array<[Record<string, string>, number]>>;

type Kind = keyof typeof RECORDED_PER_ROUND;

/** The families whose counts must be exact: the library's request histogram (and fastify-metrics' summary, and the request counters of promster and the NestJS app). */
const COUNTED: Record<Kind, string[]> = {
  express: ['http_request_duration_seconds'],
  fastify: ['http_request_duration_seconds', 'http_request_summary_seconds'],
  promster: ['http_request_duration_seconds', 'http_requests_total'],
  nest: ['app_request_duration_seconds', 'app_requests_total'],
};

/** A series of the app's routes (fastify-metrics, promster and the NestJS app also count the scrapes of /metrics, which the test leaves out). */
const isAppSeries = (labels: Record<string, string>): boolean => labels.route !== '/metrics' && labels.path !== '/metrics';

/** A counted family that is a counter (its one sample counts requests), not a histogram or summary (whose `_count` does). */
const isCounter = (family: string): boolean => family.endsWith('_total');

/** The counts a scrape must show after `rounds` rounds: every `<family>_count` (a histogram's +Inf bucket, a counter's value) of the app's routes. */
function expectedCounts(kind: Kind, rounds: number): Map<string, number> {
  const expected = new Map<string, number>();
  for (const family of COUNTED[kind]) {
    for (const [labels, perRound] of RECORDED_PER_ROUND[kind]) {
      if (isCounter(family)) {
        expected.set(seriesKey(family, labels), perRound * rounds);
        continue;
      }
      expected.set(seriesKey(`${family}_count`, labels), perRound * rounds);
      if (family.endsWith('_duration_seconds')) expected.set(seriesKey(`${family}_bucket`, { ...labels, le: '+Inf' }), perRound * rounds);
    }
  }
  return expected;
}

/** The same samples, as a scrape shows them: every count, +Inf bucket and counter of the counted families, of the app's routes. */
function actualCounts(kind: Kind, text: string): Map<string, number> {
  const actual = new Map<string, number>();
  for (const sample of parseExposition(text).samples) {
    const family = COUNTED[kind].find((name) =>
      isCounter(name) ? sample.name === name : sample.name === `${name}_count` || (sample.name === `${name}_bucket` && sample.labels.le === '+Inf'),
    );
    if (family && isAppSeries(sample.labels)) actual.set(seriesKey(sample.name, sample.labels), sample.value);
  }
  return actual;
}

const sortedEntries = (map: Map<string, number>): Array<[string, number]> => [...map].sort(([a], [b]) => a.localeCompare(b));

function assertCounts(kind: Kind, text: string, rounds: number, what: string): void {
  assert.deepEqual(sortedEntries(actualCounts(kind, text)), sortedEntries(expectedCounts(kind, rounds)), `${what}:\n${text}`);
}

function servedBy(response: HttpResult): number {
  const pid = Number(response.headers['x-served-by']);
  assert.ok(Number.isInteger(pid) && pid > 0, `X-Served-By: ${String(response.headers['x-served-by'])}`);
  return pid;
}

/** `rounds` rounds of ROUND, 6 at a time, each on a new connection; every status as expected. Resolves to requests served per worker pid. */
async function drive(baseUrl: string, rounds: number): Promise<Map<number, number>> {
  const queue = Array.from({ length: rounds }, () => ROUND).flat();
  const perWorker = new Map<number, number>();
  const client = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const response = await request(new URL(next.path, baseUrl).href, { method: next.method });
      assert.equal(response.status, next.status, `${next.method} ${next.path}: ${response.text}`);
      const pid = servedBy(response);
      perWorker.set(pid, (perWorker.get(pid) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 6 }, client));
  return perWorker;
}

/** The workers the primary reported listening, in order. */
const listening = (output: string): number[] => [...output.matchAll(/^worker (\d+) listening on \d+$/gm)].map((m) => Number(m[1]));

interface ClusterRun {
  primary: RunningProcess;
  appUrl: string;
  clusterMetricsUrl: string | undefined;
  dir: string;
}

async function startCluster(t: TestContext, theApp: AliasApp, kind: Kind, env: Record<string, string> = {}): Promise<ClusterRun> {
  const { dir, cleanup } = tempDir(`prom-multiproc-alias-${kind}-`);
  t.after(cleanup);
  // A file of an earlier run: the primary's clearMultiprocDir() removes it, or it would count as skipped.
  const stale = path.join(dir, 'counter_999999.db');
  fs.writeFileSync(stale, 'not a metrics file');
  const primary = startProcess(process.execPath, ['primary.js'], {
    cwd: theApp.runDir,
    env: exampleEnv({ PROMETHEUS_MULTIPROC_DIR: dir, APP_SCRIPT: `${kind}-app.js`, WORKERS: '3', PORT: '0', CLUSTER_METRICS_PORT: '0', ...env }),
  });
  t.after(async () => {
    const pids = [primary.pid, ...descendants(primary.pid)];
    await primary.stop('SIGKILL');
    for (const pid of pids) killQuietly(pid);
  });
  await eventually(() => assert.equal(listening(primary.output()).length, 3, primary.output()), 30_000);
  assert.equal(fs.existsSync(stale), false, 'the primary cleared the directory before forking');
  const [, port] = /^worker \d+ listening on (\d+)$/m.exec(primary.output())!;
  const clusterMetricsUrl = kind === 'express' ? (await primary.waitFor(/^cluster metrics: (\S+)$/m))[1] : undefined;
  return { primary, appUrl: `http://127.0.0.1:${port}/`, clusterMetricsUrl, dir };
}

/** Where the app runs: node:cluster under primary.js, or PM2's cluster mode. */
interface Deployment {
  appUrl: string;
  /** The worker pids serving the app now. */
  workers(): Promise<number[]>;
  /** SIGKILLs `victim` and resolves to the pid of the worker that replaces it, once it serves. */
  killAndReplace(victim: number): Promise<number>;
}

interface ScenarioResult {
  /** The last scrape's exposition. */
  exposition: string;
  rounds: number;
  live: number[];
  victim: number;
}

/**
 * The scenario of the issue for one library: 3 workers, requests, one worker
 * SIGKILLed and replaced, more requests, then 10 scrapes of the library's own
 * /metrics, each exact, answered by several of the live workers.
 */
async function killAndReplaceScenario(t: TestContext, kind: Kind, deployment: Deployment): Promise<ScenarioResult> {
  const metricsUrl = new URL('/metrics', deployment.appUrl).href;
  let scrapesSent = 0;
  const scrape = (): Promise<HttpResult> => {
    scrapesSent++;
    return request(metricsUrl);
  };
  const original = (await deployment.workers()).sort();
  assert.equal(original.length, 3, `3 workers: ${original.join(', ')}`);

  const before = 12;
  const firstLoad = await drive(deployment.appUrl, before);
  assert.deepEqual([...firstLoad.keys()].sort(), original, 'every worker served requests');
  await eventually(async () => assertCounts(kind, (await scrape()).text, before, 'the first requests'));

  // The worker that served the most requests dies without a chance to flush or say goodbye.
  const [victim, victimServed] = [...firstLoad].sort((a, b) => b[1] - a[1])[0];
  assert.ok(victimServed > 0);
  const replacement = await deployment.killAndReplace(victim);
  assert.ok(!original.includes(replacement) && isRunning(replacement) && !isRunning(victim), `replacement ${replacement} for ${victim}`);
  const live = [...original.filter((pid) => pid !== victim), replacement].sort();
  assert.deepEqual((await deployment.workers()).sort(), live);

  const afterKill = 12;
  const secondLoad = await drive(deployment.appUrl, afterKill);
  assert.deepEqual([...secondLoad.keys()].sort(), live, 'the replacement and the survivors served the later requests');
  const rounds = before + afterKill;
  const first = await eventually(async () => {
    const response = await scrape();
    assertCounts(kind, response.text, rounds, 'all requests, the dead worker’s included');
    return response;
  });

  // From now on no request is in flight: each scrape, whichever worker answers it, is exact at once.
  const scrapers = new Set([servedBy(first)]);
  let last = first.text;
  for (let i = 0; i < 9; i++) {
    const response = await scrape();
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    const pid = servedBy(response);
    assertCounts(kind, response.text, rounds, `scrape ${i + 2}, answered by worker ${pid}`);
    scrapers.add(pid);
    last = response.text;
  }
  assert.ok(scrapers.size >= 2 && [...scrapers].every((pid) => live.includes(pid)), `scrapes answered by live workers ${[...scrapers].join(', ')} of ${live.join(', ')}`);
  t.diagnostic(`${kind}: worker ${victim} (served ${victimServed} requests) SIGKILLed, replaced by ${replacement}; ${rounds * ROUND.length} requests; 10 exact scrapes answered by workers ${[...scrapers].sort().join(', ')}`);

  if (kind === 'express') {
    // express-prom-bundle's own `up` gauge, one series per process (a gauge's default mode, `all`): the live
    // workers, and the dead one only until its liveness lock is found stale.
    const up = parseExposition(last).samples.filter((sample) => sample.name === 'up');
    const upPids = up.map((sample) => Number(sample.labels.pid));
    assert.ok(up.every((sample) => sample.value === 1), last);
    assert.ok(live.every((pid) => upPids.includes(pid)) && upPids.every((pid) => live.includes(pid) || pid === victim), `up for ${upPids.join(', ')}`);
  } else if (kind === 'fastify') {
    // fastify-metrics counts the scrapes of /metrics too, each once its response is sent: the last scrape
    // shows at most those before it (and, merged over the workers, not none).
    const counted = parseExposition(last).samples.find((s) => s.name === 'http_request_duration_seconds_count' && s.labels.route === '/metrics');
    assert.ok(counted && counted.value >= 1 && counted.value <= scrapesSent - 1, `${counted?.value} of ${scrapesSent} scrapes counted`);
  }
  return { exposition: last, rounds, live, victim };
}

/** The scenario under primary.js (node:cluster); then SIGTERM stops the primary and every worker. */
async function clusterScenario(t: TestContext, theApp: AliasApp, kind: Kind): Promise<string> {
  const run = await startCluster(t, theApp, kind, { DEFAULT_METRICS: '1' });
  const { primary } = run;
  const result = await killAndReplaceScenario(t, kind, {
    appUrl: run.appUrl,
    workers: async () => {
      const started = listening(primary.output());
      return started.filter((pid) => isRunning(pid));
    },
    killAndReplace: async (victim) => {
      const before = listening(primary.output()).length;
      process.kill(victim, 'SIGKILL');
      await primary.waitFor(new RegExp(`^worker ${victim} exited \\(SIGKILL\\); forking a replacement$`, 'm'));
      await eventually(() => assert.equal(listening(primary.output()).length, before + 1, primary.output()), 30_000);
      return listening(primary.output())[before];
    },
  });
  if (kind === 'express') {
    // The bundle's clusterMetrics() in the primary (prom-client: IPC to the live workers; here: the directory).
    const cluster = await request(run.clusterMetricsUrl!);
    assert.equal(cluster.status, 200);
    assert.match(String(cluster.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assertCounts(kind, cluster.text, result.rounds, 'promBundle.clusterMetrics() in the primary');
  }
  const pids = [primary.pid, ...descendants(primary.pid)];
  const status = await primary.stop('SIGTERM');
  assert.deepEqual(status, { code: 0, signal: null }, primary.output());
  await assertAllGone(pids, `${kind} cluster`);
  return result.exposition;
}

interface Pm2App {
  name: string;
  pid: number;
  pm2_env: { exec_mode: string; status: string };
}

const expositions: Partial<Record<Kind | 'pm2', string>> = {};

describe('the alias route: prom-client and @prometheus-io/client are npm aliases of prom-multiproc', () => {
  test('npm installs the app with the aliases and overrides: no real prom-client or @prometheus-io/client anywhere in its tree', (t) => {
    const theApp = installedApp(t);
    if (!theApp) return;
    t.diagnostic(theApp.installMs === undefined ? `installation from the cache: ${theApp.dir}` : `npm install took ${(theApp.installMs / 1000).toFixed(1)} s: ${theApp.dir}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(theApp.dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; overrides: Record<string, string> };
    for (const name of ALIASED) {
      assert.match(manifest.dependencies[name], /^file:\.\/prom-multiproc-\d+\.\d+\.\d+\.tgz$/);
      assert.equal(manifest.overrides[name], `$${name}`);
    }
    const versions = lockedVersions();
    for (const [name, version] of Object.entries(versions)) {
      assert.equal(manifest.dependencies[name], version);
      const installed = JSON.parse(fs.readFileSync(path.join(theApp.dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
      assert.equal(installed.version, version, `${name} installed at the version of our package-lock.json`);
    }
    // The published form (test/fixtures/alias-app/package.json, shown in docs/migrating-from-prom-client.md) is this
    // manifest with npm:prom-multiproc@^0.1 in place of the tarball.
    const published = JSON.parse(fs.readFileSync(path.join(APP_FIXTURE, 'package.json'), 'utf8')) as unknown;
    assert.deepEqual(published, appManifest(publishedAlias()), 'test/fixtures/alias-app/package.json is the installed manifest in its published form');
    assert.deepEqual(manifest, appManifest(manifest.dependencies['prom-client']));
    const ours = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const copies = installedCopies(theApp.dir, [...ALIASED, '@platformatic/prom-client']);
    assert.deepEqual(
      copies,
      ALIASED.map((name) => ({ where: path.join('node_modules', name), name: 'prom-multiproc', version: ours })).sort((a, b) => a.where.localeCompare(b.where)),
      'one copy per alias, at the top, and each is prom-multiproc',
    );
    // The installed copies are this build, byte for byte.
    for (const name of ALIASED) {
      for (const file of ['dist/index.js', 'dist/index.mjs', 'dist/collector/registry.js']) {
        assert.ok(fs.readFileSync(path.join(theApp.dir, 'node_modules', name, file)).equals(fs.readFileSync(path.join(ROOT, file))), `${name}/${file} is this build's`);
      }
    }
  });

  test('require.resolve finds prom-multiproc for the app and from inside express-prom-bundle, fastify-metrics, @promster/metrics and @willsoto/nestjs-prometheus, which use it', async (t) => {
    const theApp = installedApp(t);
    if (!theApp) return;
    const check = await runCommand(process.execPath, [path.join(theApp.runDir, 'check-resolution.js')], exampleEnv());
    assert.equal(check.code, 0, check.output);
    const result = JSON.parse(check.output) as Record<string, Record<string, { file?: string; package?: { dir: string; name: string }; error?: string }>>;
    const modules = path.join(theApp.dir, 'node_modules');
    const ofAlias = (name: string): { file: string; package: { dir: string; name: string; version: string } } => {
      const dir = fs.realpathSync(path.join(modules, name));
      const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
      return { file: path.join(dir, 'dist', 'index.js'), package: { dir, name: 'prom-multiproc', version } };
    };
    assert.deepEqual(result.app, { 'prom-client': ofAlias('prom-client'), '@prometheus-io/client': ofAlias('@prometheus-io/client') });
    assert.deepEqual(result['express-prom-bundle'], { 'prom-client': ofAlias('prom-client') });
    assert.deepEqual(result['fastify-metrics'], {
      '@prometheus-io/client': ofAlias('@prometheus-io/client'),
      // fastify-metrics prefers this one when installed; the app has none, so it takes @prometheus-io/client.
      '@platformatic/prom-client': { error: 'MODULE_NOT_FOUND' },
    });
    assert.deepEqual(result['@promster/metrics'], { 'prom-client': ofAlias('prom-client') });
    assert.deepEqual(result['@willsoto/nestjs-prometheus'], { 'prom-client': ofAlias('prom-client') });
    assert.deepEqual(result.sameModule, { expressPromBundle: true });
  });

  test('express-prom-bundle under node:cluster, 3 workers, one SIGKILLed and replaced: every scrape of its /metrics has the merged totals', { timeout: 120_000 }, async (t) => {
    const theApp = installedApp(t);
    if (!theApp) return;
    expositions.express = await clusterScenario(t, theApp, 'express');
  });

  test('fastify-metrics under node:cluster, 3 workers, one SIGKILLed and replaced: every scrape of its /metrics has the merged totals', { timeout: 120_000 }, async (t) => {
    const theApp = installedApp(t);
    if (!theApp) return;
    expositions.fastify = await clusterScenario(t, theApp, 'fastify');
  });

  test('@promster/express under node:cluster, 3 workers, one SIGKILLed and replaced: every scrape of its getSummary() route has the merged totals', { timeout: 120_000 }, async (t) => {
    const theApp = installedApp(t);
    if (!theApp) return;
    expositions.promster = await clusterScenario(t, theApp, 'promster');
  });

  test('@willsoto/nestjs-prometheus (NestJS 10) under node:cluster, 3 workers, one SIGKILLed and replaced: every scrape of its /metrics has the merged totals', { timeout: 120_000 }, async (t) => {
    const theApp = installedApp(t);
    if (!theApp) return;
    expositions.nest = await clusterScenario(t, theApp, 'nest');
  });

  test('express-prom-bundle under PM2 cluster mode, 3 instances, one SIGKILLed and restarted by PM2: every scrape of its /metrics has the merged totals', { timeout: 180_000 }, async (t) => {
    const theApp = installedApp(t);
    if (!theApp) return;
    const { dir, cleanup } = tempDir('prom-multiproc-alias-pm2-');
    t.after(cleanup);
    const home = tempDir('prom-multiproc-alias-pm2-home-');
    t.after(home.cleanup);
    // With both, PM2 makes no version-check call to the internet.
    fs.writeFileSync(path.join(home.dir, 'touch'), '');
    const port = await freePort();
    const env = exampleEnv({
      PM2_HOME: home.dir,
      PM2_DISABLE_VERSION_CHECK: 'true',
      PROMETHEUS_MULTIPROC_DIR: dir,
      PORT: String(port),
      INSTANCES: '3',
      DEFAULT_METRICS: '1',
    });
    const pm2 = path.join(ROOT, 'node_modules', '.bin', 'pm2');
    const stale = path.join(dir, 'counter_999999.db');
    fs.writeFileSync(stale, 'not a metrics file');
    const appUrl = `http://127.0.0.1:${port}/`;
    const metricsUrl = `${appUrl}metrics`;
    const online = async (): Promise<number[]> => {
      const list = await runCommand(pm2, ['jlist'], env);
      assert.equal(list.code, 0, list.output);
      const apps = (JSON.parse(list.output) as Pm2App[]).filter((app) => app.name === 'alias-express');
      assert.ok(apps.every((app) => app.pm2_env.exec_mode === 'cluster_mode'), list.output);
      return apps.filter((app) => app.pm2_env.status === 'online' && app.pid > 0).map((app) => app.pid);
    };
    // The bundle does not count its own /metrics: scrapes tell which instances listen without changing the totals.
    const allServe = async (pids: number[]): Promise<void> => {
      const seen = new Set<number>();
      await eventually(async () => {
        seen.add(servedBy(await request(metricsUrl)));
        assert.ok(pids.every((pid) => seen.has(pid)), `${[...seen].join(', ')} of ${pids.join(', ')} answered`);
      }, 30_000);
    };
    const pids: number[] = [];
    try {
      // PM2's daemon is the cluster primary: the directory is emptied before the start, by the CLI of the aliased package.
      const clear = await runCommand(path.join(theApp.runDir, 'node_modules', '.bin', 'prom-multiproc'), ['clear', '--dir', dir], env);
      assert.equal(clear.code, 0, clear.output);
      assert.equal(fs.existsSync(stale), false, 'prom-multiproc clear emptied the directory');
      const start = await runCommand(pm2, ['start', path.join(theApp.runDir, 'ecosystem.config.js')], env);
      assert.equal(start.code, 0, start.output);
      await eventually(async () => assert.equal((await online()).length, 3), 30_000);
      await allServe(await online());

      const result = await killAndReplaceScenario(t, 'express', {
        appUrl,
        workers: online,
        killAndReplace: async (victim) => {
          const before = await online();
          process.kill(victim, 'SIGKILL');
          const now = await eventually(async () => {
            const pidsNow = await online();
            assert.ok(pidsNow.length === 3 && !pidsNow.includes(victim), `online: ${pidsNow.join(', ')}`);
            return pidsNow;
          }, 30_000);
          const [replacement] = now.filter((pid) => !before.includes(pid));
          await allServe([replacement]);
          return replacement;
        },
      });
      expositions.pm2 = result.exposition;
    } finally {
      const pidFile = path.join(home.dir, 'pm2.pid');
      if (fs.existsSync(pidFile)) {
        const daemon = Number(fs.readFileSync(pidFile, 'utf8'));
        pids.push(daemon, ...descendants(daemon));
      }
      const kill = await runCommand(pm2, ['kill'], env);
      await assertAllGone(pids, 'pm2 kill');
      assert.equal(kill.code, 0, kill.output);
    }
  });

  test('the default metrics each library turns on start and are served (express-prom-bundle: promClient.collectDefaultMetrics; the others: by default)', { timeout: 90_000 }, async (t) => {
    const theApp = installedApp(t);
    if (!theApp) return;
    for (const kind of ['express', 'fastify', 'promster', 'nest'] as const) {
      const { dir, cleanup } = tempDir(`prom-multiproc-alias-defaults-${kind}-`);
      t.after(cleanup);
      const worker = startProcess(process.execPath, [`${kind}-app.js`], {
        cwd: theApp.runDir,
        env: exampleEnv({ PROMETHEUS_MULTIPROC_DIR: dir, PORT: '0', DEFAULT_METRICS: '1' }),
      });
      t.after(() => worker.stop('SIGKILL'));
      const [, port] = await worker.waitFor(new RegExp(`^${kind} worker \\d+ listening on (\\d+)$`, 'm'));
      const response = await request(`http://127.0.0.1:${port}/metrics`);
      assert.equal(response.status, 200, response.text);
      const families = [...parseExposition(response.text).types.keys()];
      assert.ok(families.some((name) => name.startsWith('process_')) && families.some((name) => name.startsWith('nodejs_')), `${kind}: default metrics served: ${families.join(', ')}`);
      expositions[kind] = response.text;
      await worker.stop('SIGTERM');
    }
  });

  test('promtool accepts the expositions of every library (node:cluster and PM2)', { skip: skipUnlessInstalled('promtool') }, (t) => {
    if (!installedApp(t)) return;
    for (const kind of ['express', 'fastify', 'promster', 'nest', 'pm2'] as const) {
      assert.ok(expositions[kind], `the ${kind} tests above produced an exposition`);
      assertPromtoolParses(expositions[kind]);
    }
  });
});
