// A forked worker serving a small app with the request metrics middleware and
// a /metrics handler; its metrics go to PROMETHEUS_MULTIPROC_DIR.
// argv[2]: 'express', 'fastify' or 'node'. Sends {type: 'listening', port, pid},
// and exits 0 when its parent disconnects.
import express from 'express';
import fastify from 'fastify';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fastifyHttpMetrics, fastifyMetrics, httpMetricsMiddleware, metricsHandler } from '../../src/index.js';

export type WorkerFramework = 'express' | 'fastify' | 'node';

async function startExpress(): Promise<{ port: number; close: () => Promise<void> }> {
  const app = express();
  app.use(httpMetricsMiddleware());
  app.get('/metrics', metricsHandler());
  app.get('/users/:id', (req, res) => void res.send(`user ${req.params.id}\n`));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function startFastify(): Promise<{ port: number; close: () => Promise<void> }> {
  const app = fastify();
  await app.register(fastifyHttpMetrics);
  await app.register(fastifyMetrics);
  app.get<{ Params: { id: string } }>('/users/:id', async (request) => `user ${request.params.id}\n`);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

async function startNode(): Promise<{ port: number; close: () => Promise<void> }> {
  const track = httpMetricsMiddleware({ route: (req) => (/^\/users\/[^/?]+(\?|$)/.test(req.url ?? '') ? '/users/:id' : undefined) });
  const serveMetrics = metricsHandler();
  const server = http.createServer((req, res) => {
    track(req, res);
    if (req.url === '/metrics') return serveMetrics(req, res);
    const user = /^\/users\/([^/?]+)/.exec(req.url ?? '');
    res.statusCode = user ? 200 : 404;
    res.end(user ? `user ${user[1]}\n` : 'not found\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const starters: Record<WorkerFramework, () => Promise<{ port: number; close: () => Promise<void> }>> = {
  express: startExpress,
  fastify: startFastify,
  node: startNode,
};

const framework = process.argv[2] as WorkerFramework;
starters[framework]().then(
  ({ port, close }) => {
    process.once('disconnect', () => {
      void close().then(() => process.exit(0));
    });
    process.send!({ type: 'listening', port, pid: process.pid });
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
