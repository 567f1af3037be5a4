'use strict';
// The application: one of several identical processes serving HTTP. It runs
// as a node:cluster worker (primary.js), as a PM2 cluster-mode instance
// (../pm2/ecosystem.config.js) or on its own. Its metrics go to the files of
// PROMETHEUS_MULTIPROC_DIR; it never serves /metrics itself: a separate
// exporter process merges the files of every worker.
//
// Environment: PROMETHEUS_MULTIPROC_DIR (required), HOST (default 127.0.0.1),
// PORT (default 3000), LIVENESS_TIMEOUT_MS (how soon a killed worker counts as
// dead; default the library's 10000).
const http = require('node:http');

// SIGINT is what Ctrl-C sends to every process of the terminal and what PM2
// sends to stop an instance; SIGTERM is what service managers send. Set up
// first, so that a stop during start-up is a clean exit too.
let server;
function stop() {
  if (!server) process.exit(0);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  // Requests that never finish must not keep the worker alive.
  setTimeout(() => process.exit(1), 5000).unref();
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

const { Counter, Gauge, collectRuntimeMetrics, configure, httpMetricsMiddleware } = require('prom-multiproc');

if (!process.env.PROMETHEUS_MULTIPROC_DIR) {
  console.error('worker.js: set PROMETHEUS_MULTIPROC_DIR to the shared metrics directory');
  process.exit(2);
}
if (process.env.LIVENESS_TIMEOUT_MS) configure({ livenessTimeoutMs: Number(process.env.LIVENESS_TIMEOUT_MS) });

// CPU, memory, heap, event-loop delay and GC of this worker, written only when someone scrapes.
collectRuntimeMetrics();

const usersLookedUp = new Counter({ name: 'app_users_looked_up_total', help: 'User records looked up.' });
// livesum: the requests in flight in all live workers; a dead worker's share leaves the sum.
const inFlight = new Gauge({ name: 'app_requests_in_flight', help: 'Requests being handled.', multiprocessMode: 'livesum' });

const routes = [
  {
    template: '/',
    pattern: /^\/$/,
    handle: (req, res) => res.end(`hello from worker ${process.pid}\n`),
  },
  {
    template: '/users/:id',
    pattern: /^\/users\/([^/]+)$/,
    handle: (req, res, [id]) => {
      usersLookedUp.inc();
      res.setHeader('Content-Type', 'application/json');
      res.end(`${JSON.stringify({ id, name: `user ${id}`, servedBy: process.pid })}\n`);
    },
  },
  {
    template: '/slow',
    pattern: /^\/slow$/,
    // Some spread for the latency histogram.
    handle: (req, res) => setTimeout(() => res.end('done\n'), 10 + Math.random() * 90),
  },
];

// The route template of each request, for the middleware's `route` label:
// plain node:http has no router, and the raw path would make a series per user id.
const templates = new WeakMap();
const trackRequest = httpMetricsMiddleware({ route: (req) => templates.get(req) });

server = http.createServer((req, res) => {
  trackRequest(req, res);
  inFlight.inc();
  res.once('close', () => inFlight.dec());
  const path = (req.url ?? '/').split('?')[0];
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (match && req.method === 'GET') {
      templates.set(req, route.template);
      route.handle(req, res, match.slice(1));
      return;
    }
  }
  res.statusCode = 404;
  res.end('not found\n');
});

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1');
