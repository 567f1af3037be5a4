'use strict';
// A node:cluster service with one /metrics for all its workers:
// - the primary empties the metrics directory before forking (files of an
//   earlier run would be merged into this run's totals),
// - forks WORKERS workers running worker.js, which all serve PORT,
// - serves the merged metrics of every worker on a separate port, bound to
//   127.0.0.1 (startExporter: the primary writes no metrics of its own),
// - calls markProcessDead when a worker exits and starts a replacement for
//   one that crashed.
//
//   node examples/cluster/primary.js
//
// Environment: PROMETHEUS_MULTIPROC_DIR (default: a fresh temporary directory,
// removed at exit), WORKERS (default: the number of CPUs), HOST (default
// 127.0.0.1), PORT (default 3000), METRICS_PORT (default 9464),
// COMPACT_THRESHOLD (dead workers that trigger a compaction; default the
// library's), LIVENESS_TIMEOUT_MS (passed to the workers). SIGINT (Ctrl-C) and
// SIGTERM stop everything; exit code 0.
const cluster = require('node:cluster');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { clearMultiprocDir, markProcessDead, startExporter } = require('prom-multiproc');

/** How long a worker may take to finish its requests after being asked to stop. */
const WORKER_STOP_TIMEOUT_MS = 10_000;

function describeExit(code, signal) {
  return signal ? `signal ${signal}` : `code ${code}`;
}

function exited(worker) {
  const child = worker.process;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}

/**
 * Starts the exporter and `workers` workers; resolves once every worker
 * listens. The result's stop() stops the workers (each finishes its
 * requests), then the exporter.
 */
async function startCluster({
  dir,
  workers = os.availableParallelism(),
  host = '127.0.0.1',
  port = 3000,
  metricsPort = 9464,
  compactThreshold,
  livenessTimeoutMs,
  log = (message) => console.log(`[primary ${process.pid}] ${message}`),
}) {
  if (!cluster.isPrimary) throw new Error('startCluster() runs in the cluster primary');
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`workers must be a positive integer, got ${workers}`);
  clearMultiprocDir(dir);

  const exporter = await startExporter({ dir, host: '127.0.0.1', port: metricsPort, compactThreshold });

  const env = { PROMETHEUS_MULTIPROC_DIR: dir, HOST: host, PORT: String(port) };
  if (livenessTimeoutMs !== undefined) env.LIVENESS_TIMEOUT_MS = String(livenessTimeoutMs);
  cluster.setupPrimary({ exec: path.join(__dirname, 'worker.js') });

  let stopping = false;
  let appPort;
  let failStart;
  const startFailed = new Promise((_, reject) => (failStart = reject));
  startFailed.catch(() => {});

  const onListening = (worker, address) => {
    appPort = address.port;
    worker.listened = true;
    log(`worker ${worker.process.pid} listening on http://${host}:${address.port}/`);
  };
  const onExit = (worker, code, signal) => {
    const pid = worker.process.pid;
    try {
      // Its live gauges (requests in flight) leave the sums now, not when its liveness lock goes stale.
      markProcessDead(pid, dir);
    } catch (err) {
      log(`markProcessDead(${pid}) failed: ${err.message}`);
    }
    // SIGINT and SIGTERM are someone stopping it (Ctrl-C reaches every process of the terminal).
    const crashed = (code !== 0 && code !== null) || (signal !== null && signal !== 'SIGINT' && signal !== 'SIGTERM');
    if (!stopping && !worker.listened) {
      // One that never listened would fail again (a port in use, say): give up rather than loop.
      log(`worker ${pid} exited (${describeExit(code, signal)}) before listening`);
      failStart(new Error(`worker ${pid} exited (${describeExit(code, signal)}) before listening`));
    } else if (stopping || worker.exitedAfterDisconnect || !crashed) {
      log(`worker ${pid} exited (${describeExit(code, signal)})`);
    } else {
      log(`worker ${pid} exited (${describeExit(code, signal)}); starting a replacement`);
      fork();
    }
  };
  cluster.on('listening', onListening);
  cluster.on('exit', onExit);
  const fork = () => {
    const worker = cluster.fork(env);
    worker.on('error', (err) => {
      // Asking a worker that is exiting anyway to disconnect may find its channel closed.
      if (err.code !== 'EPIPE' && err.code !== 'ERR_IPC_CHANNEL_CLOSED') log(`worker ${worker.process.pid}: ${err.message}`);
    });
    return worker;
  };

  let stopped;
  function stop() {
    stopped ??= stopAll();
    return stopped;
  }
  async function stopAll() {
    stopping = true;
    const running = Object.values(cluster.workers ?? {});
    await Promise.all(
      running.map(async (worker) => {
        // Closes its server, lets its requests finish, and it exits; after Ctrl-C it is already on its way.
        if (worker.isConnected()) worker.disconnect();
        const kill = setTimeout(() => worker.process.kill('SIGKILL'), WORKER_STOP_TIMEOUT_MS);
        await exited(worker);
        clearTimeout(kill);
      }),
    );
    cluster.off('listening', onListening);
    cluster.off('exit', onExit);
    await exporter.close();
  }

  const forked = Array.from({ length: workers }, fork);
  try {
    await Promise.race([Promise.all(forked.map((worker) => new Promise((resolve) => worker.once('listening', resolve)))), startFailed]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    dir,
    appUrl: `http://${host.includes(':') ? `[${host}]` : host}:${appPort}/`,
    metricsUrl: exporter.url,
    workerPids: () => Object.values(cluster.workers ?? {}).map((worker) => worker.process.pid),
    stop,
  };
}

/**
 * Runs `stop` on the first SIGINT or SIGTERM, then exits 0 (1 if stopping
 * failed). A second signal while stopping is ignored: the workers are
 * already finishing their requests.
 */
function stopOnSignals(stop) {
  let stopping;
  const onSignal = (signal) => {
    if (stopping) return;
    console.log(`${signal}: stopping`);
    stopping = Promise.resolve()
      .then(stop)
      .then(
        () => process.exit(0),
        (err) => {
          console.error(err);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** PROMETHEUS_MULTIPROC_DIR, or a fresh temporary directory that `remove` deletes. */
function metricsDirectory() {
  const configured = process.env.PROMETHEUS_MULTIPROC_DIR;
  if (configured) return { dir: configured, remove: () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-multiproc-example-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function numberFromEnv(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${text}"`);
  return value;
}

/** The options of startCluster from the environment, with the given defaults. */
function optionsFromEnv(defaults = {}) {
  return {
    workers: numberFromEnv('WORKERS', defaults.workers ?? os.availableParallelism()),
    host: process.env.HOST || '127.0.0.1',
    port: numberFromEnv('PORT', defaults.port ?? 3000),
    metricsPort: numberFromEnv('METRICS_PORT', defaults.metricsPort ?? 9464),
    compactThreshold: numberFromEnv('COMPACT_THRESHOLD', undefined),
    livenessTimeoutMs: numberFromEnv('LIVENESS_TIMEOUT_MS', undefined),
  };
}

/**
 * Starts the cluster in a fresh metrics directory and, on SIGINT or SIGTERM (also one that comes during
 * start-up), stops it and removes the directory, then calls `onStopped(dir)`. Resolves to the running
 * service with its directory, or to undefined when a signal stopped the start.
 */
async function runUntilSignalled(options, onStopped = () => {}) {
  const { dir, remove } = metricsDirectory();
  const starting = startCluster({ dir, ...options });
  let signalled = false;
  stopOnSignals(async () => {
    signalled = true;
    const started = await starting.catch(() => undefined);
    await started?.stop();
    remove();
    onStopped(dir);
  });
  const service = await starting.catch((err) => {
    remove();
    // Ctrl-C during start-up may stop a worker before it listens: not a failure, the signal handler exits.
    if (signalled) return undefined;
    throw err;
  });
  return service && { service, dir, remove, signalled: () => signalled };
}

async function main() {
  const run = await runUntilSignalled(optionsFromEnv());
  if (!run) return;
  console.log(`metrics directory: ${run.dir}`);
  console.log(`app: ${run.service.appUrl}`);
  console.log(`metrics: ${run.service.metricsUrl}`);
}

module.exports = { startCluster, runUntilSignalled, stopOnSignals, metricsDirectory, optionsFromEnv };

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
