'use strict';
// PM2: the app of ../cluster/worker.js in cluster mode, plus the exporter
// (`prom-multiproc serve`) as a second app, both on one metrics directory.
//
//   node examples/pm2/prestart.js && pm2 start examples/pm2/ecosystem.config.js
//
// Empty the directory before every start (prestart.js): in cluster mode the
// primary is PM2's daemon, so no code of ours runs before the instances start.
// No markProcessDead either, for the same reason: an instance that dies is
// recognised by its stale liveness lock (LIVENESS_TIMEOUT_MS), its live gauges
// leave the output on their own, and the exporter compacts its files.
//
// Environment (read by pm2 when it loads this file): PROMETHEUS_MULTIPROC_DIR
// (default /tmp/prom-multiproc-pm2-example), WORKERS (default 2), HOST
// (default 127.0.0.1), PORT (default 3000), METRICS_PORT (default 9464).
const os = require('node:os');
const path = require('node:path');

const dir = process.env.PROMETHEUS_MULTIPROC_DIR || path.join(os.tmpdir(), 'prom-multiproc-pm2-example');
// The package's own CLI (the `prom-multiproc` command of node_modules/.bin in an application).
const cli = path.join(path.dirname(require.resolve('prom-multiproc/package.json')), 'dist', 'surfaces', 'cli.js');

module.exports = {
  apps: [
    {
      name: 'example-app',
      script: path.join(__dirname, '..', 'cluster', 'worker.js'),
      exec_mode: 'cluster',
      instances: Number(process.env.WORKERS || 2),
      // worker.js stops on SIGINT (what PM2 sends) once its requests are done.
      kill_timeout: 5000,
      env: {
        PROMETHEUS_MULTIPROC_DIR: dir,
        HOST: process.env.HOST || '127.0.0.1',
        PORT: process.env.PORT || '3000',
        ...(process.env.LIVENESS_TIMEOUT_MS ? { LIVENESS_TIMEOUT_MS: process.env.LIVENESS_TIMEOUT_MS } : {}),
      },
    },
    {
      name: 'example-metrics',
      script: cli,
      args: ['serve', '--dir', dir, '--host', '127.0.0.1', '--port', process.env.METRICS_PORT || '9464'],
      exec_mode: 'fork',
      instances: 1,
    },
  ],
};
