// The node:cluster primary of the prom-client comparison, forked by
// bench/scrape.ts: starts argv[3]'s worker count of cluster workers holding
// the workload (argv[2], a WriterSpec), reports their pids ({type: 'workers'})
// so the benchmark can always stop them, then times clusterMetrics() and sends
// {type: 'result', stats, workerRssMb, startupMs, overLimit}. It stops its
// workers itself before reporting.
import cluster, { type Worker } from 'node:cluster';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as client from 'prom-client';
import { heartbeat, measureScrapes, rssOfPids, type ScrapeOptions } from '../lib/measure.js';
import { TS_EXEC_ARGV } from '../lib/processes.js';
import { STARTUP_CONCURRENCY, startInWaves } from '../lib/workload.js';

const READY_TIMEOUT_MS = 300_000;
/** clusterMetrics() rejects with "Operation timed out." after this fixed delay (prom-client 15, lib/cluster.js). */
export const PROM_CLIENT_TIMEOUT_MS = 5000;
const LIFTED_TIMEOUT_MS = 120_000;
const workers: Worker[] = [];

function forkReady(): Promise<Worker> {
  const worker = cluster.fork();
  workers.push(worker);
  process.send!({ type: 'workers', pids: [worker.process.pid!] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cluster worker ${worker.process.pid} not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null): void => {
      clearTimeout(timer);
      reject(new Error(`cluster worker ${worker.process.pid} exited early with code ${code}, signal ${signal}`));
    };
    worker.on('message', function onReady(message: { type?: string }) {
      if (message?.type !== 'bench-ready') return;
      clearTimeout(timer);
      worker.off('message', onReady);
      worker.off('exit', onExit);
      resolve(worker);
    });
    worker.once('exit', onExit);
  });
}

/**
 * clusterMetrics() with prom-client's fixed 5 s limit raised, so that the
 * latency of large aggregations can be measured rather than only their
 * failure: the limit is the setTimeout its request sets up synchronously, so
 * setTimeout is swapped for the duration of that call only. Scrapes slower
 * than the limit are counted (they fail in a real deployment).
 */
function clusterMetricsWithoutLimit(aggregator: client.AggregatorRegistry<client.PrometheusContentType>): Promise<string> {
  const realSetTimeout = globalThis.setTimeout;
  const stretched = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): NodeJS.Timeout =>
    realSetTimeout(callback, ms === PROM_CLIENT_TIMEOUT_MS ? LIFTED_TIMEOUT_MS : ms, ...args);
  globalThis.setTimeout = stretched as typeof setTimeout;
  try {
    return aggregator.clusterMetrics();
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
}

async function main(): Promise<void> {
  const specText = process.argv[2];
  const workerCount = Number(process.argv[3]);
  const options = JSON.parse(process.argv[4]) as ScrapeOptions & { samplePrefix: string };
  const aggregator = new client.AggregatorRegistry<client.PrometheusContentType>();

  const startedAt = performance.now();
  cluster.setupPrimary({ exec: path.join(__dirname, 'promclient-cluster-worker.ts'), args: [specText], execArgv: TS_EXEC_ARGV });
  const stopWorkers = (): void => {
    for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGKILL');
  };
  process.on('disconnect', () => {
    stopWorkers();
    process.exit(1);
  });
  try {
    let ready = 0;
    await startInWaves(workerCount, STARTUP_CONCURRENCY, async () => {
      const worker = await forkReady();
      heartbeat();
      if (++ready % 16 === 0 && ready < workerCount) process.send!({ type: 'progress', message: `${ready} of ${workerCount} cluster workers ready` });
      return worker;
    });
    const startupMs = performance.now() - startedAt;
    process.send!({ type: 'progress', message: `${workerCount} cluster workers ready in ${(startupMs / 1000).toFixed(1)} s; scraping` });
    const workerRssMb = rssOfPids(workers.map((w) => w.process.pid!));
    const stats = await measureScrapes(() => clusterMetricsWithoutLimit(aggregator), options.samplePrefix, options);
    stopWorkers();
    const overLimit = [stats.coldMs, ...stats.warmMs].filter((ms) => ms > PROM_CLIENT_TIMEOUT_MS).length;
    process.send!({ type: 'result', stats, workerRssMb, startupMs, overLimit }, () => process.disconnect());
  } finally {
    stopWorkers();
  }
}

main().catch((err: unknown) => {
  process.send!({ type: 'error', message: (err as Error).stack ?? String(err) }, () => process.exit(1));
});
