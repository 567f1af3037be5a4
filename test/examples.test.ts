// Each example of examples/ run as its README says, with real processes:
// node:cluster, PM2 cluster mode (from node_modules), nginx (from Debian) in
// front of the cluster, and `npm start`. Requests go in, the merged metrics
// come out with exact totals, and every process is gone after the stop.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findProgram, skipUnlessInstalled } from './helpers/programs.js';
import { describe, test } from 'node:test';
import { parseExposition, seriesKey } from './helpers/concurrency-checks.js';
import {
  assertAllGone,
  canConnect,
  descendants,
  EXAMPLES,
  exampleEnv,
  freePort,
  killQuietly,
  listeningWorkers,
  repeatPaths,
  ROOT,
  runCommand,
  sendRequests,
  startClusterExample,
  startProcess,
} from './helpers/examples-processes.js';
import { tempDir } from './helpers/fixtures.js';
import { eventually, request } from './helpers/http.js';

/** The requests each test sends, and what the app's middleware records for them. */
const PATHS = ['/', '/users/1', '/users/2', '/no-such-page'];

/** `extraRoot`: requests to / sent besides the rounds (a readiness check). */
function expectedSamples(rounds: number, extraRoot = 0): Map<string, number> {
  const expected = new Map<string, number>();
  const add = (route: string, status: string, count: number): void => {
    const labels = { method: 'GET', route, status };
    expected.set(seriesKey('http_requests_total', labels), count);
    expected.set(seriesKey('http_request_duration_seconds_count', labels), count);
    expected.set(seriesKey('http_request_duration_seconds_bucket', { ...labels, le: '+Inf' }), count);
  };
  add('/', '200', rounds + extraRoot);
  add('/users/:id', '200', 2 * rounds);
  add('<unmatched>', '404', rounds);
  expected.set(seriesKey('app_users_looked_up_total', {}), 2 * rounds);
  expected.set(seriesKey('prom_multiproc_skipped_files_total', {}), 0);
  return expected;
}

/** Scrapes `metricsUrl` until the request metrics are exactly those of `rounds` rounds of PATHS; returns the last exposition. */
async function assertExactTotals(metricsUrl: string, rounds: number): Promise<string> {
  const expected = expectedSamples(rounds);
  return eventually(async () => {
    const response = await request(metricsUrl);
    assert.equal(response.status, 200, response.text);
    const parsed = parseExposition(response.text);
    const actual = new Map([...expected.keys()].map((key) => [key, parsed.byKey.get(key)?.value]));
    assert.deepEqual(actual, expected);
    return response.text;
  });
}

function assertStatuses(statuses: Map<number, number>, rounds: number): void {
  assert.deepEqual(Object.fromEntries(statuses), { 200: 3 * rounds, 404: rounds });
}

/** A file of an earlier run: unreadable, so it would be counted as skipped if it survived the clear. */
function leaveStaleFile(dir: string): string {
  const file = path.join(dir, 'counter_999999.db');
  fs.writeFileSync(file, 'not a metrics file');
  return file;
}

describe('examples/cluster: node:cluster primary, workers and the exporter', () => {
  test('clears the directory, spreads requests over the workers, serves exact totals; SIGTERM stops every process', async (t) => {
    const { dir, cleanup } = tempDir('prom-multiproc-example-cluster-');
    t.after(cleanup);
    const stale = leaveStaleFile(dir);
    const cluster = await startClusterExample(dir, 2);
    const primary = cluster.process;
    const pids = [primary.pid];
    try {
      assert.equal(fs.existsSync(stale), false, 'the primary cleared the files of an earlier run');
      await eventually(() => assert.equal(listeningWorkers(primary.output()).length, 2, primary.output()));
      const workers = descendants(primary.pid);
      pids.push(...workers);
      assert.deepEqual([...workers].sort(), [...listeningWorkers(primary.output())].sort(), 'the primary has exactly its two workers as children');
      assert.match(cluster.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'the exporter binds the loopback interface');

      const rounds = 15;
      const load = await sendRequests(cluster.appUrl, repeatPaths(PATHS, rounds));
      assertStatuses(load.statuses, rounds);
      const servedBy = new Set(load.bodies.flatMap((body) => /^hello from worker (\d+)$/m.exec(body)?.[1] ?? []).map(Number));
      assert.deepEqual([...servedBy].sort(), [...workers].sort(), 'every worker served requests');

      const exposition = await assertExactTotals(cluster.metricsUrl, rounds);
      const resident = parseExposition(exposition).samples.filter((sample) => sample.name === 'process_resident_memory_bytes');
      assert.deepEqual(resident.map((sample) => Number(sample.labels.pid)).sort(), [...workers].sort(), 'runtime metrics of each live worker');
      assert.equal((await request(cluster.metricsUrl.replace(/\/metrics$/, '/healthz'))).status, 200);

      const status = await primary.stop('SIGTERM');
      assert.deepEqual(status, { code: 0, signal: null }, primary.output());
      await assertAllGone(pids, 'cluster example');
      assert.match(primary.output(), /SIGTERM: stopping/);
      for (const pid of workers) assert.match(primary.output(), new RegExp(`worker ${pid} exited \\(code 0\\)$`, 'm'));
    } finally {
      await primary.stop('SIGKILL');
      for (const pid of pids) killQuietly(pid);
    }
  });
});

describe('npm start: the one-command demo', () => {
  test('starts workers in a fresh directory, drives traffic, prints the metrics URL; Ctrl-C stops it with exit code 0', async () => {
    // Ctrl-C in a terminal signals the whole foreground process group: npm, the demo and its workers.
    const demo = startProcess('npm', ['start'], { env: exampleEnv(), group: true });
    const pids = [demo.pid];
    try {
      const [, metricsUrl] = await demo.waitFor(/^merged metrics of all workers: (\S+)$/m);
      const [, dir] = await demo.waitFor(/^metrics directory: (\S+)$/m);
      await demo.waitFor(/Ctrl-C stops the demo/);
      assert.ok(dir.startsWith(os.tmpdir()) && fs.existsSync(dir), `a fresh temporary directory: ${dir}`);
      const [, sent] = await demo.waitFor(/^sent (\d+) requests to the app$/m);
      assert.match(demo.output(), /^ {2}http_requests_total\{method="GET",route="\/users\/:id",status="200"\} \d/m, 'an excerpt of the metrics');

      const total = await eventually(async () => {
        const parsed = parseExposition((await request(metricsUrl)).text);
        const sum = parsed.samples.filter((sample) => sample.name === 'http_requests_total').reduce((acc, sample) => acc + sample.value, 0);
        assert.equal(sum, Number(sent));
        return sum;
      });
      assert.ok(total > 0);
      pids.push(...descendants(demo.pid));
      assert.ok(pids.length >= 1 + 1 + 3, `npm, the demo and three workers: ${pids.join(', ')}`);

      const status = await demo.stop('SIGINT');
      assert.deepEqual(status, { code: 0, signal: null }, demo.output());
      await assertAllGone(pids, 'npm start');
      assert.equal(fs.existsSync(dir), false, 'the demo removed its directory');
      assert.match(demo.output(), /^stopped; removed /m);
    } finally {
      await demo.stop('SIGKILL');
      for (const pid of pids) killQuietly(pid);
    }
  });
});

describe('examples/pm2: cluster mode and the exporter as a second app', () => {
  test('prestart clears the directory, the instances count, the exporter serves exact totals; pm2 kill stops every process', async (t) => {
    const { dir, cleanup } = tempDir('prom-multiproc-example-pm2-');
    t.after(cleanup);
    const home = tempDir('prom-multiproc-pm2-home-');
    t.after(home.cleanup);
    // With both, PM2 makes no version-check call to the internet.
    fs.writeFileSync(path.join(home.dir, 'touch'), '');
    const appPort = await freePort();
    const metricsPort = await freePort();
    const env = exampleEnv({
      PM2_HOME: home.dir,
      PM2_DISABLE_VERSION_CHECK: 'true',
      PROMETHEUS_MULTIPROC_DIR: dir,
      WORKERS: '2',
      PORT: String(appPort),
      METRICS_PORT: String(metricsPort),
    });
    const pm2 = path.join(ROOT, 'node_modules', '.bin', 'pm2');
    const ecosystem = path.join(EXAMPLES, 'pm2', 'ecosystem.config.js');
    const stale = leaveStaleFile(dir);
    const pids: number[] = [];
    try {
      const prestart = await runCommand(process.execPath, [path.join(EXAMPLES, 'pm2', 'prestart.js')], env);
      assert.equal(prestart.code, 0, prestart.output);
      assert.match(prestart.output, new RegExp(`^cleared ${dir}: 1 entries removed$`, 'm'));
      assert.equal(fs.existsSync(stale), false);

      const start = await runCommand(pm2, ['start', ecosystem], env);
      assert.equal(start.code, 0, start.output);
      const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
      const appUrl = `http://127.0.0.1:${appPort}/`;
      await eventually(async () => {
        assert.equal((await request(metricsUrl.replace(/\/metrics$/, '/healthz'))).status, 200);
        assert.equal((await request(appUrl)).status, 200);
      }, 30_000);

      const list = await runCommand(pm2, ['jlist'], env);
      assert.equal(list.code, 0, list.output);
      const apps = JSON.parse(list.output) as Array<{ name: string; pid: number; pm2_env: { exec_mode: string; status: string } }>;
      const instances = apps.filter((app) => app.name === 'example-app');
      const exporter = apps.filter((app) => app.name === 'example-metrics');
      assert.deepEqual(instances.map((app) => [app.pm2_env.exec_mode, app.pm2_env.status]), [['cluster_mode', 'online'], ['cluster_mode', 'online']]);
      assert.deepEqual(exporter.map((app) => [app.pm2_env.exec_mode, app.pm2_env.status]), [['fork_mode', 'online']]);

      const rounds = 10;
      const load = await sendRequests(appUrl, repeatPaths(PATHS, rounds));
      assertStatuses(load.statuses, rounds);
      // Besides these, the one successful request of the readiness check above.
      const exposition = await eventually(async () => {
        const text = (await request(metricsUrl)).text;
        const parsed = parseExposition(text);
        const expected = expectedSamples(rounds, 1);
        assert.deepEqual(new Map([...expected.keys()].map((key) => [key, parsed.byKey.get(key)?.value])), expected);
        return text;
      });
      const instancePids = instances.map((app) => app.pid).sort();
      const started = parseExposition(exposition).samples.filter((sample) => sample.name === 'process_start_time_seconds');
      assert.deepEqual(started.map((sample) => Number(sample.labels.pid)).sort(), instancePids, 'one series per PM2 instance');
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
});

/** An IPv4 address of this machine other than loopback, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal)?.address;
}

describe('examples/nginx: nginx in front, the metrics port separate and on 127.0.0.1 only', () => {
  test('proxies the app publicly, never /metrics; serves exact totals on the loopback metrics port; SIGTERM stops nginx', { skip: skipUnlessInstalled('nginx') }, async (t) => {
    const nginx = findProgram('nginx')!;
    const { dir, cleanup } = tempDir('prom-multiproc-example-nginx-');
    t.after(cleanup);
    const cluster = await startClusterExample(dir, 2);
    const pids = [cluster.process.pid];
    const publicPort = await freePort();
    const metricsPort = await freePort();
    const appPort = new URL(cluster.appUrl).port;
    const exporterPort = new URL(cluster.metricsUrl).port;
    const proxy = startProcess(process.execPath, [path.join(EXAMPLES, 'nginx', 'run-nginx.js')], {
      env: exampleEnv({
        NGINX: nginx,
        PUBLIC_PORT: String(publicPort),
        NGINX_METRICS_PORT: String(metricsPort),
        APP_UPSTREAM: `127.0.0.1:${appPort}`,
        EXPORTER_UPSTREAM: `127.0.0.1:${exporterPort}`,
      }),
    });
    pids.push(proxy.pid);
    try {
      const [, prefix] = await proxy.waitFor(/^nginx \(pid \d+\) with prefix (\S+)$/m);
      const [, metricsUrl] = await proxy.waitFor(/^metrics: (\S+) ->/m);
      assert.equal(metricsUrl, `http://127.0.0.1:${metricsPort}/metrics`);
      for (const name of ['nginx.pid', 'error.log', 'access.log', 'nginx.conf']) assert.ok(fs.existsSync(path.join(prefix, name)), `${name} in the prefix`);
      const nginxPids = descendants(proxy.pid);
      assert.ok(nginxPids.length >= 2, `an nginx master and its worker: ${nginxPids.join(', ')}`);
      pids.push(...nginxPids, ...descendants(cluster.process.pid));

      const publicUrl = `http://127.0.0.1:${publicPort}/`;
      const rounds = 10;
      const load = await sendRequests(publicUrl, repeatPaths(PATHS, rounds));
      assertStatuses(load.statuses, rounds);
      const hidden = await request(new URL('/metrics', publicUrl).href);
      assert.equal(hidden.status, 404, 'no metrics on the public port');
      assert.doesNotMatch(hidden.text, /http_requests_total/);

      await assertExactTotals(metricsUrl, rounds);
      const openMetrics = await request(metricsUrl, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } });
      assert.match(String(openMetrics.headers['content-type']), /^application\/openmetrics-text; version=1\.0\.0/, 'Accept passes through nginx');

      const external = externalAddress();
      if (external) {
        assert.equal(await canConnect(external, publicPort), true, `the public port answers on ${external}`);
        assert.equal(await canConnect(external, metricsPort), false, `the metrics port does not answer on ${external}`);
      }

      const status = await proxy.stop('SIGTERM');
      assert.deepEqual(status, { code: 0, signal: null }, proxy.output());
      await assertAllGone(nginxPids, 'nginx');
      assert.equal(fs.existsSync(prefix), false, 'the prefix directory is removed');
      const stopped = await cluster.process.stop('SIGTERM');
      assert.deepEqual(stopped, { code: 0, signal: null }, cluster.process.output());
      await assertAllGone(pids, 'nginx example');
    } finally {
      await proxy.stop('SIGKILL');
      await cluster.process.stop('SIGKILL');
      for (const pid of pids) killQuietly(pid);
    }
  });
});
