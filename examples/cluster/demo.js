'use strict';
// `npm start`: the node:cluster example as a one-command demo. It uses a fresh
// temporary directory (unless PROMETHEUS_MULTIPROC_DIR is set), starts a few
// workers on a free port, sends them some requests, prints where the merged
// metrics are served and an excerpt of them, and stops on Ctrl-C or SIGTERM.
// PORT, METRICS_PORT, WORKERS and the other variables of primary.js apply.
const http = require('node:http');
const { optionsFromEnv, runUntilSignalled } = require('./primary.js');

const REQUESTS = ['/', '/users/1', '/users/2', '/users/3', '/slow', '/no-such-page'];
const ROUNDS = 10;
const CONCURRENCY = 4;

/** One GET on a new connection each time, so that the cluster spreads requests over the workers. */
function get(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function driveTraffic(appUrl) {
  const queue = Array.from({ length: ROUNDS }, () => REQUESTS).flat();
  const total = queue.length;
  const client = async () => {
    for (let path = queue.shift(); path !== undefined; path = queue.shift()) await get(new URL(path, appUrl));
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  return total;
}

async function fetchText(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return res.text();
}

/** The request metrics, the app's own and a few per-worker figures. */
function excerpt(exposition) {
  const wanted = /^(http_requests_total|http_request_duration_seconds_count|app_|process_resident_memory_bytes|process_cpu_seconds_total)/;
  return exposition
    .split('\n')
    .filter((line) => wanted.test(line))
    .map((line) => `  ${line}`)
    .join('\n');
}

async function main() {
  const options = optionsFromEnv({ workers: 3, port: 0, metricsPort: 0 });
  const quiet = () => {};
  const run = await runUntilSignalled({ ...options, log: quiet }, (dir) => console.log(`stopped; removed ${dir}`));
  if (!run) return;
  const { service, dir, remove, signalled } = run;
  console.log(`prom-multiproc demo: ${options.workers} node:cluster workers (pids ${service.workerPids().join(', ')})`);
  console.log(`metrics directory: ${dir}`);
  console.log(`app: ${service.appUrl} (try ${REQUESTS.slice(1, 5).join(', ')})`);
  try {
    const sent = await driveTraffic(service.appUrl);
    console.log(`sent ${sent} requests to the app`);
    console.log(`\nmerged metrics of all workers: ${service.metricsUrl}\n`);
    console.log(excerpt(await fetchText(service.metricsUrl)));
    console.log(`\ncurl ${service.metricsUrl} for all of them; Ctrl-C stops the demo.`);
  } catch (err) {
    // Ctrl-C during the traffic: the workers are going, and the signal handler finishes the stop.
    if (signalled()) return;
    await service.stop();
    remove();
    throw err;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
