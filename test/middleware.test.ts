import express from 'express';
import fastify from 'fastify';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, describe, test, type TestContext } from 'node:test';
import {
  ABORTED_STATUS,
  configure,
  fastifyHttpMetrics,
  fastifyMetrics,
  httpMetricsMiddleware,
  metricsHandler,
  MultiprocessRegistry,
  UNMATCHED_ROUTE,
  ValidationError,
  type Logger,
} from '../src/index.js';
import { tempDir } from './helpers/fixtures.js';
import { closeServer, eventually, forkHttpWorker, listen, request } from './helpers/http.js';

// Every metric of this process goes into real files in this directory; each
// test uses its own name prefix, so its series are its own.
const metricsDir = tempDir('prom-multiproc-middleware-');
after(metricsDir.cleanup);
configure({ dir: metricsDir.dir });
const registry = new MultiprocessRegistry({ dir: metricsDir.dir });

type Counts = Record<string, number>;

/** `METHOD route status [extra...]` to the value of each series of `<prefix>http_requests_total` (or the histogram's _count). */
async function seriesCounts(dir: string, prefix: string, sample: 'requests' | 'durations' = 'requests'): Promise<Counts> {
  const source = dir === metricsDir.dir ? registry : new MultiprocessRegistry({ dir });
  const wanted = sample === 'requests' ? `${prefix}http_requests_total` : `${prefix}http_request_duration_seconds_count`;
  const counts: Counts = {};
  for (const metric of await source.getMetricsAsJSON()) {
    for (const value of metric.values) {
      // As in prom-client's getMetricsAsJSON(), a counter's values carry no metricName: the metric's name is theirs.
      if ((value.metricName ?? metric.name) !== wanted) continue;
      const { method, route, status, ...extra } = value.labels;
      const extras = Object.keys(extra)
        .sort()
        .map((name) => `${name}=${extra[name]}`);
      counts[[method, route, status, ...extras].join(' ')] = value.value;
    }
  }
  return counts;
}

/** Waits until the request and duration series of `prefix` are exactly `expected` (a response is recorded as it finishes). */
async function expectSeries(prefix: string, expected: Counts, dir = metricsDir.dir): Promise<void> {
  await eventually(async () => {
    assert.deepEqual(await seriesCounts(dir, prefix), expected);
    assert.deepEqual(await seriesCounts(dir, prefix, 'durations'), expected, 'one duration per request, same labels');
  });
}

async function serveExpressApp(t: TestContext, app: express.Express): Promise<string> {
  const server = http.createServer(app);
  const base = await listen(server);
  t.after(() => closeServer(server));
  return base;
}

function recordingLogger(): Logger & { messages: string[] } {
  const messages: string[] = [];
  return { messages, warn: (message) => void messages.push(message) };
}

describe('HTTP request metrics', () => {
  test('Express: the route label is the route template with mount paths; unmatched and /metrics', async (t) => {
    const app = express();
    app.use(httpMetricsMiddleware({ prefix: 'express_' }));
    app.get('/metrics', metricsHandler(registry));
    app.get('/users/:id', (req, res) => void res.send(`user ${req.params.id}`));
    app.post('/users/:id', (_req, res) => void res.status(201).send('created'));
    app.get('/boom', () => {
      throw new Error('handler failed');
    });
    const api = express.Router();
    api.get('/', (_req, res) => void res.send('api root'));
    api.get('/items/:itemId', (req, res) => void res.send(`item ${req.params.itemId}`));
    app.use('/api', api);
    // Express logs the /boom error through its default handler; keep the test output clean.
    app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).send('failed'));
    const base = await serveExpressApp(t, app);

    for (const [method, path, status] of [
      ['GET', '/users/1', 200],
      ['GET', '/users/2?tab=posts', 200],
      ['POST', '/users/3', 201],
      ['GET', '/api/items/9', 200],
      ['GET', '/api', 200],
      ['GET', '/api/nope', 404],
      ['GET', '/no-such-page', 404],
      ['GET', '/boom', 500],
      ['GET', '/metrics', 200],
      ['GET', '/metrics?x=1', 200],
    ] as const) {
      assert.equal((await request(`${base}${path}`, { method })).status, status, `${method} ${path}`);
    }
    await expectSeries('express_', {
      'GET /users/:id 200': 2,
      'POST /users/:id 201': 1,
      'GET /api/items/:itemId 200': 1,
      'GET /api 200': 1,
      [`GET ${UNMATCHED_ROUTE} 404`]: 2,
      'GET /boom 500': 1,
    });
    // The series is served by the same app, from the files.
    const served = await request(`${base}/metrics`);
    assert.match(served.text, /^express_http_requests_total\{method="GET",route="\/users\/:id",status="200"\} 2\.0$/m);
    assert.match(served.text, /^# TYPE express_http_request_duration_seconds histogram$/m);
  });

  test('Fastify: the route label is request.routeOptions.url with plugin prefixes; unmatched and /metrics', async (t) => {
    const app = fastify();
    await app.register(fastifyHttpMetrics, { prefix: 'fastify_' });
    await app.register(fastifyMetrics, { registry });
    app.get<{ Params: { id: string } }>('/users/:id', async (request) => `user ${request.params.id}`);
    app.delete('/users/:id', async (_request, reply) => reply.code(204).send());
    app.get('/boom', async () => {
      throw new Error('handler failed');
    });
    await app.register(
      async (v1) => {
        v1.get('/things/:thing', async () => 'thing');
      },
      { prefix: '/v1' },
    );
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    t.after(() => app.close());

    for (const [method, path, status] of [
      ['GET', '/users/1', 200],
      ['GET', '/users/2?x=y', 200],
      ['DELETE', '/users/2', 204],
      ['GET', '/v1/things/abc', 200],
      ['GET', '/v1/nothing', 404],
      ['GET', '/boom', 500],
      ['GET', '/metrics', 200],
    ] as const) {
      assert.equal((await request(`${base}${path}`, { method })).status, status, `${method} ${path}`);
    }
    await expectSeries('fastify_', {
      'GET /users/:id 200': 2,
      'DELETE /users/:id 204': 1,
      'GET /v1/things/:thing 200': 1,
      [`GET ${UNMATCHED_ROUTE} 404`]: 1,
      'GET /boom 500': 1,
    });
  });

  test('node:http: the fixed fallback without a route option; templates from route(req); a throwing route() is logged once', async (t) => {
    const logger = recordingLogger();
    const plain = httpMetricsMiddleware({ prefix: 'plain_' });
    const routed = httpMetricsMiddleware({
      prefix: 'routed_',
      logger,
      route: (req) => {
        if (req.url === '/explode') throw new Error('route table broken');
        return /^\/orders\/\d+$/.test(req.url ?? '') ? '/orders/:id' : undefined;
      },
    });
    const server = http.createServer((req, res) => {
      plain(req, res);
      routed(req, res);
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end('ok');
    });
    const base = await listen(server);
    t.after(() => closeServer(server));

    for (const path of ['/orders/1', '/orders/2', '/missing', '/explode', '/explode', '/metrics']) await request(`${base}${path}`);
    await expectSeries('plain_', { [`GET ${UNMATCHED_ROUTE} 200`]: 4, [`GET ${UNMATCHED_ROUTE} 404`]: 1 });
    await expectSeries('routed_', { 'GET /orders/:id 200': 2, [`GET ${UNMATCHED_ROUTE} 404`]: 1, [`GET ${UNMATCHED_ROUTE} 200`]: 2 });
    assert.equal(logger.messages.length, 1, logger.messages.join('\n'));
    assert.match(logger.messages[0], /route option threw.*route table broken/);
  });

  test('options: buckets, extra labels, excluded paths and the name prefix', async (t) => {
    const app = express();
    app.use(
      httpMetricsMiddleware({
        prefix: 'opts_',
        buckets: [0.1, 1],
        extraLabelNames: ['tenant', 'region'],
        extraLabels: (req) => ({ tenant: String(req.headers['x-tenant'] ?? 'none'), region: undefined }),
        excludePaths: ['/metrics', /^\/health/],
      }),
    );
    app.get('/health', (_req, res) => void res.send('ok'));
    app.get('/healthz/deep', (_req, res) => void res.send('ok'));
    app.get('/metrics', (_req, res) => void res.send('not measured'));
    app.get('/work/:job', (_req, res) => void res.send('done'));
    const base = await serveExpressApp(t, app);

    await request(`${base}/work/1`, { headers: { 'X-Tenant': 'acme' } });
    await request(`${base}/work/2`, { headers: { 'X-Tenant': 'acme' } });
    await request(`${base}/work/3`);
    for (const path of ['/health', '/healthz/deep', '/metrics', '/metrics?format=x']) await request(`${base}${path}`);

    await expectSeries('opts_', {
      'GET /work/:job 200 region= tenant=acme': 2,
      'GET /work/:job 200 region= tenant=none': 1,
    });
    const text = await registry.metrics();
    const buckets = [...text.matchAll(/^opts_http_request_duration_seconds_bucket\{[^}]*le="([^"]+)"[^}]*tenant="acme"\} (\S+)$/gm)].map((m) => [m[1], m[2]]);
    assert.deepEqual(
      buckets.map(([le]) => le),
      ['0.1', '1.0', '+Inf'],
      text,
    );
    assert.equal(buckets[2][1], '2.0', 'the +Inf bucket counts every request');
    assert.doesNotMatch(text, /^http_requests_total/m, 'nothing without the prefix');
  });

  test(`a request aborted before its response is recorded with status ${ABORTED_STATUS}`, async (t) => {
    const track = httpMetricsMiddleware({ prefix: 'aborted_', route: () => '/slow' });
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    const pending: http.ServerResponse[] = [];
    const server = http.createServer((req, res) => {
      track(req, res);
      pending.push(res);
      arrived();
    });
    const base = await listen(server);
    t.after(() => closeServer(server));

    const client = http.request(`${base}/slow`, { agent: false });
    client.on('error', () => {});
    client.end();
    await arrival;
    client.destroy();
    await expectSeries('aborted_', { [`GET /slow ${ABORTED_STATUS}`]: 1 });
    assert.equal(pending.length, 1);
  });

  test('middlewares with one prefix share their metrics; different buckets or labels are refused', async (t) => {
    const first = httpMetricsMiddleware({ prefix: 'shared_' });
    const second = httpMetricsMiddleware({ prefix: 'shared_' });
    const server = http.createServer((req, res) => {
      (req.url === '/a' ? first : second)(req, res);
      res.end();
    });
    const base = await listen(server);
    t.after(() => closeServer(server));
    await request(`${base}/a`);
    await request(`${base}/b`);
    await expectSeries('shared_', { [`GET ${UNMATCHED_ROUTE} 200`]: 2 });

    assert.throws(
      () => httpMetricsMiddleware({ prefix: 'shared_', buckets: [1, 2] }),
      (err: unknown) => err instanceof ValidationError && err.message.includes('shared_http_requests_total') && err.message.includes('buckets'),
    );
    assert.throws(
      () => httpMetricsMiddleware({ prefix: 'labels_', extraLabelNames: ['tenant'] }),
      (err: unknown) => err instanceof ValidationError && err.message.includes('labels_http_requests_total') && err.message.includes('extraLabels'),
    );
    assert.throws(
      () => httpMetricsMiddleware({ prefix: 'reserved_', extraLabelNames: ['route'], extraLabels: () => ({}) }),
      (err: unknown) => err instanceof ValidationError && err.message.includes('reserved_http_requests_total') && err.message.includes('"route"'),
    );
  });

  test('Express, Fastify and node:http workers in separate processes add up in the shared files', async (t) => {
    const shared = tempDir('prom-multiproc-middleware-workers-');
    t.after(shared.cleanup);
    const workers = await Promise.all((['express', 'fastify', 'node'] as const).map((framework) => forkHttpWorker(framework, shared.dir)));
    for (const worker of workers) t.after(() => worker.stop());
    for (const worker of workers) {
      for (let i = 0; i < 4; i++) assert.equal((await request(`${worker.url}/users/${i}`)).status, 200);
      assert.equal((await request(`${worker.url}/missing/page`)).status, 404);
      assert.equal((await request(`${worker.url}/metrics`)).status, 200);
    }
    await expectSeries('', { 'GET /users/:id 200': 12, [`GET ${UNMATCHED_ROUTE} 404`]: 3 }, shared.dir);
    for (const worker of workers) assert.deepEqual(await worker.stop(), { code: 0, signal: null });
  });
});
