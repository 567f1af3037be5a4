// A real Prometheus (Debian's package) scraping the exporter of the
// node:cluster example every second while its workers take requests, one of
// them is killed with SIGKILL, replaced, and its files compacted by the
// exporter. Through Prometheus's HTTP API: the counter totals equal the
// requests sent, resets() over the run is 0, histogram quantiles come out.
// And promtool accepts the exporter's output in both formats.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseExposition } from './helpers/concurrency-checks.js';
import {
  assertAllGone,
  descendants,
  killQuietly,
  listeningWorkers,
  repeatPaths,
  sendRequests,
  startClusterExample,
  type ClusterExample,
} from './helpers/examples-processes.js';
import { assertOpenMetricsParses, pollUntil, runPromtool, startPrometheus, type PrometheusServer } from './helpers/examples-prometheus.js';
import { skipUnlessInstalled } from './helpers/programs.js';
import { tempDir } from './helpers/fixtures.js';
import { request } from './helpers/http.js';

const JOB = 'prom-multiproc-example';
const WORKERS = 3;
/** A killed worker counts as dead after this, and its files are compacted after twice this. */
const LIVENESS_TIMEOUT_MS = 2000;
const PATHS = ['/', '/users/1', '/slow'];

/** The sum of every series of `name` in an exposition. */
function total(exposition: string, name: string): number {
  return parseExposition(exposition)
    .samples.filter((sample) => sample.name === name)
    .reduce((sum, sample) => sum + sample.value, 0);
}

describe('a real Prometheus scraping the exporter of the node:cluster example', { skip: skipUnlessInstalled('prometheus', 'promtool') }, () => {
  let work: { dir: string; cleanup: () => void };
  let metricsDir: string;
  let cluster: ClusterExample;
  let prometheus: PrometheusServer;
  const pids: number[] = [];
  let sent = 0;
  let killedAt = 0;
  let compactedAt = 0;

  before(async () => {
    work = tempDir('prom-multiproc-prometheus-');
    metricsDir = path.join(work.dir, 'metrics');
    fs.mkdirSync(metricsDir);
    // Compaction as soon as one writer is dead, from the exporter's scrapes.
    cluster = await startClusterExample(metricsDir, WORKERS, { LIVENESS_TIMEOUT_MS: String(LIVENESS_TIMEOUT_MS), COMPACT_THRESHOLD: '1' });
    pids.push(cluster.process.pid);
    const exporter = new URL(cluster.metricsUrl);
    prometheus = await startPrometheus(work.dir, exporter.host, JOB);
    pids.push(prometheus.process.pid);
  });

  after(async () => {
    pids.push(...(cluster ? descendants(cluster.process.pid) : []));
    const stops = [prometheus?.process.stop('SIGTERM'), cluster?.process.stop('SIGTERM')];
    const [prometheusExit, clusterExit] = await Promise.all(stops);
    try {
      await assertAllGone(pids, 'Prometheus and the cluster example');
      if (prometheusExit) assert.deepEqual(prometheusExit, { code: 0, signal: null }, prometheus.process.output());
      if (clusterExit) assert.deepEqual(clusterExit, { code: 0, signal: null }, cluster.process.output());
    } finally {
      for (const pid of pids) killQuietly(pid);
      work?.cleanup();
    }
  });

  async function load(rounds: number): Promise<void> {
    const result = await sendRequests(cluster.appUrl, repeatPaths(PATHS, rounds));
    assert.deepEqual(Object.fromEntries(result.statuses), { 200: PATHS.length * rounds });
    sent += PATHS.length * rounds;
  }

  async function prometheusTotal(): Promise<number | undefined> {
    const result = await prometheus.query(`sum(http_requests_total{job="${JOB}"})`);
    return result[0]?.value;
  }

  test('counter totals in Prometheus equal the requests sent, across a worker killed with SIGKILL, replaced and compacted', async () => {
    await pollUntil('the first scrape', () => prometheus.query(`up{job="${JOB}"}`), (up) => up[0]?.value === 1);
    await load(50);
    await pollUntil('Prometheus sees the first requests', prometheusTotal, (value) => value === sent);

    const workers = descendants(cluster.process.pid);
    assert.equal(workers.length, WORKERS, cluster.process.output());
    const victim = workers[0];
    process.kill(victim, 'SIGKILL');
    killedAt = Date.now() / 1000;
    await cluster.process.waitFor(new RegExp(`worker ${victim} exited \\(signal SIGKILL\\); starting a replacement`));
    await pollUntil(
      'a replacement listens',
      async () => listeningWorkers(cluster.process.output()).filter((pid) => !workers.includes(pid)),
      (replacements) => replacements.length === 1,
    );

    // Requests keep coming while the victim's lock goes stale and the exporter compacts its files.
    const victimFiles = (): string[] => fs.readdirSync(metricsDir).filter((name) => name.endsWith(`_${victim}.db`));
    assert.ok(victimFiles().length > 0, 'the killed worker left its files');
    const deadline = Date.now() + 60_000;
    while (victimFiles().length > 0) {
      assert.ok(Date.now() < deadline, `the killed worker's files were not compacted: ${fs.readdirSync(metricsDir).join(' ')}`);
      await load(5);
      await sleep(100);
    }
    compactedAt = Date.now() / 1000;
    assert.ok(fs.existsSync(path.join(metricsDir, 'counter_compacted.db')), fs.readdirSync(metricsDir).join(' '));

    await load(50);
    await pollUntil('Prometheus sees every request', prometheusTotal, (value) => value === sent);
    assert.equal(total((await request(cluster.metricsUrl)).text, 'http_requests_total'), sent, 'the exporter agrees');
  });

  test('resets() over the whole run is 0, and the total never went down between scrapes', async () => {
    assert.ok(compactedAt > killedAt && killedAt > 0, 'the previous test ran');
    // Scrapes after the compaction: at least two, so that a drop after it would show.
    await pollUntil(
      'two scrapes after the compaction',
      async () => (await prometheus.queryMatrix(`up{job="${JOB}"}[10m]`))[0]?.values.filter(([time]) => time > compactedAt).length ?? 0,
      (count) => count >= 2,
    );
    for (const counter of ['http_requests_total', 'http_request_duration_seconds_count', 'app_users_looked_up_total', 'process_cpu_seconds_total']) {
      const series = await prometheus.query(`count(${counter}{job="${JOB}"})`);
      assert.ok((series[0]?.value ?? 0) > 0, `${counter} was scraped`);
      const resets = await prometheus.query(`sum(resets(${counter}{job="${JOB}"}[10m]))`);
      assert.deepEqual(
        resets.map((sample) => sample.value),
        [0],
        `resets of ${counter}: ${JSON.stringify(await prometheus.query(`resets(${counter}{job="${JOB}"}[10m]) > 0`))}`,
      );
    }

    // Every scrape's raw samples, summed per scrape (one timestamp per scrape).
    const raw = await prometheus.queryMatrix(`http_requests_total{job="${JOB}"}[10m]`);
    const perScrape = new Map<number, number>();
    for (const { values } of raw) for (const [time, value] of values) perScrape.set(time, (perScrape.get(time) ?? 0) + value);
    const totals = [...perScrape].sort(([a], [b]) => a - b);
    for (let i = 1; i < totals.length; i++) {
      assert.ok(totals[i][1] >= totals[i - 1][1], `the total went down from ${totals[i - 1][1]} to ${totals[i][1]} at ${totals[i][0]}`);
    }
    assert.equal(totals[totals.length - 1][1], sent);
    // The comparison covered the dangerous moments: scrapes while the dead worker's files lay there, and after compaction.
    assert.ok(totals.some(([time]) => time > killedAt && time < compactedAt), `a scrape between the kill and the compaction: ${JSON.stringify(totals)}`);
    assert.ok(totals.filter(([time]) => time > compactedAt).length >= 2, `scrapes after the compaction: ${JSON.stringify(totals)}`);
    const up = await prometheus.query(`min_over_time(up{job="${JOB}"}[10m])`);
    assert.deepEqual(
      up.map((sample) => sample.value),
      [1],
      'no scrape failed',
    );
  });

  test('histogram_quantile over the request durations is a number', async () => {
    for (const selector of [`job="${JOB}"`, `job="${JOB}",route="/slow"`]) {
      const expr = `histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{${selector}}[10m])))`;
      const [quantile] = await prometheus.query(expr);
      assert.ok(quantile !== undefined && Number.isFinite(quantile.value) && quantile.value > 0, `${expr}: ${JSON.stringify(quantile)}`);
    }
  });

  test('promtool check metrics is clean on the text format', async () => {
    const response = await request(cluster.metricsUrl);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const check = runPromtool(['check', 'metrics'], response.text);
    assert.equal(check.status, 0, `promtool check metrics: ${check.stderr}${check.stdout}\n--- input\n${response.text}`);
  });

  test("promtool's OpenMetrics parser accepts the OpenMetrics output", async (t) => {
    const response = await request(cluster.metricsUrl, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } });
    assert.match(String(response.headers['content-type']), /^application\/openmetrics-text; version=1\.0\.0/);
    const scratch = tempDir('prom-multiproc-promtool-');
    t.after(scratch.cleanup);
    assertOpenMetricsParses(response.text, scratch.dir);
  });
});
