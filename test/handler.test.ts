import express from 'express';
import fastify from 'fastify';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import * as zlib from 'node:zlib';
import * as prom from 'prom-client';
import {
  fastifyMetrics,
  metricsHandler,
  MultiprocessRegistry,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  type Logger,
  type MetricsSource,
} from '../src/index.js';
import { FIXTURES, tempDir } from './helpers/fixtures.js';
import { closeServer, listen, request } from './helpers/http.js';

const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** A fresh directory holding the files Python wrote for the `counters` fixture (jobs_total 3.25). */
function fixtureDir(t: TestContext): string {
  const temp = tempDir('prom-multiproc-handler-');
  t.after(temp.cleanup);
  fs.cpSync(path.join(FIXTURES, 'counters', 'db'), temp.dir, { recursive: true });
  return temp.dir;
}

/** A logger that keeps what it is told. */
function recordingLogger(): Logger & { messages: string[] } {
  const messages: string[] = [];
  return { messages, warn: (message) => void messages.push(message) };
}

async function serveNode(t: TestContext, handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<string> {
  const server = http.createServer(handler);
  const base = await listen(server);
  t.after(() => closeServer(server));
  return `${base}/metrics`;
}

async function serveExpress(t: TestContext, handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<string> {
  const app = express();
  app.get('/metrics', handler);
  const server = http.createServer(app);
  const base = await listen(server);
  t.after(() => closeServer(server));
  return `${base}/metrics`;
}

async function serveFastify(t: TestContext, options: Parameters<typeof fastifyMetrics>[1]): Promise<string> {
  const app = fastify();
  await app.register(fastifyMetrics, options);
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());
  return `${base}${options.path ?? '/metrics'}`;
}

/** The behaviour every /metrics surface shares, checked against the `counters` fixture. */
async function checkNegotiation(url: string): Promise<void> {
  const text = await request(url);
  assert.equal(text.status, 200, text.text);
  assert.equal(text.headers['content-type'], PROMETHEUS_CONTENT_TYPE);
  assert.equal(text.headers['content-encoding'], undefined);
  assert.match(text.text, /^jobs_total 3\.25$/m);
  assert.ok(!text.text.includes('# EOF'));

  const openMetrics = await request(url, { headers: { Accept: PROMETHEUS_ACCEPT, 'Accept-Encoding': 'gzip' } });
  assert.equal(openMetrics.status, 200);
  assert.equal(openMetrics.headers['content-type'], OPENMETRICS_CONTENT_TYPE);
  assert.equal(openMetrics.headers['content-encoding'], 'gzip');
  assert.equal(Number(openMetrics.headers['content-length']), openMetrics.body.length);
  const decoded = zlib.gunzipSync(openMetrics.body).toString('utf8');
  assert.match(decoded, /^# TYPE jobs counter\njobs_total 3\.25$/m);
  assert.ok(decoded.endsWith('\n# EOF\n'), decoded);

  const gzippedText = await request(url, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(gzippedText.headers['content-type'], PROMETHEUS_CONTENT_TYPE);
  assert.equal(zlib.gunzipSync(gzippedText.body).toString('utf8'), text.text);

  const head = await request(url, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.headers['content-type'], PROMETHEUS_CONTENT_TYPE);

  // Scrapes in both formats at once each get their own format.
  const mixed = await Promise.all(
    Array.from({ length: 12 }, (_, i) => request(url, { headers: i % 2 ? { Accept: 'application/openmetrics-text' } : { Accept: 'text/plain' } })),
  );
  mixed.forEach((result, i) => {
    assert.equal(result.headers['content-type'], i % 2 ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE, `request ${i}`);
    assert.equal(result.text.endsWith('# EOF\n'), i % 2 === 1, `request ${i}`);
  });
}

/** A source that fails the way a broken directory or a buggy collector would. */
function failingSource(failure: () => Promise<string>): MetricsSource {
  let contentType: prom.RegistryContentType = PROMETHEUS_CONTENT_TYPE;
  return {
    get contentType() {
      return contentType;
    },
    setContentType: (type) => void (contentType = type),
    metrics: failure,
  };
}

describe('metricsHandler() and fastifyMetrics', () => {
  test('node:http: content negotiation, gzip, HEAD and 405, and the registry keeps its own content type', async (t) => {
    const registry = new MultiprocessRegistry({ dir: fixtureDir(t) });
    const url = await serveNode(t, metricsHandler(registry));
    await checkNegotiation(url);
    assert.equal(registry.contentType, PROMETHEUS_CONTENT_TYPE);

    const post = await request(url, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  test('Express: app.get("/metrics", metricsHandler(registry)) negotiates the same way', async (t) => {
    const registry = new MultiprocessRegistry({ dir: fixtureDir(t) });
    registry.setContentType(OPENMETRICS_CONTENT_TYPE);
    await checkNegotiation(await serveExpress(t, metricsHandler(registry)));
    assert.equal(registry.contentType, OPENMETRICS_CONTENT_TYPE, 'a registry set to OpenMetrics stays so');
  });

  test('Fastify: the plugin serves at its configured path with the same negotiation', async (t) => {
    const registry = new MultiprocessRegistry({ dir: fixtureDir(t) });
    const url = await serveFastify(t, { registry, path: '/internal/prom' });
    assert.match(url, /\/internal\/prom$/);
    await checkNegotiation(url);
    assert.equal((await request(url.replace('/internal/prom', '/metrics'))).status, 404);
  });

  test('without a registry they serve PROMETHEUS_MULTIPROC_DIR through a registry of their own', async (t) => {
    const dir = fixtureDir(t);
    const previous = process.env.PROMETHEUS_MULTIPROC_DIR;
    process.env.PROMETHEUS_MULTIPROC_DIR = dir;
    t.after(() => {
      if (previous === undefined) delete process.env.PROMETHEUS_MULTIPROC_DIR;
      else process.env.PROMETHEUS_MULTIPROC_DIR = previous;
    });
    for (const url of [await serveNode(t, metricsHandler()), await serveFastify(t, {})]) {
      const result = await request(url);
      assert.equal(result.status, 200, result.text);
      assert.match(result.text, /^jobs_total 3\.25$/m);
    }
  });

  test('a prom-client Registry can be the source too', async (t) => {
    const registry = new prom.Registry();
    const counter = new prom.Counter({ name: 'plain_events', help: 'Events.', registers: [registry] });
    counter.inc(2);
    const url = await serveNode(t, metricsHandler(registry));
    assert.match((await request(url)).text, /^plain_events 2$/m);
    const openMetrics = await request(url, { headers: { Accept: 'application/openmetrics-text' } });
    assert.equal(openMetrics.headers['content-type'], OPENMETRICS_CONTENT_TYPE);
    assert.ok(openMetrics.text.endsWith('# EOF\n'), openMetrics.text);
    assert.equal(registry.contentType, PROMETHEUS_CONTENT_TYPE);
  });

  test('a failed scrape answers 500 with a short body, is logged, and the server keeps serving', async (t) => {
    const temp = tempDir('prom-multiproc-handler-missing-');
    t.after(temp.cleanup);
    const missing = path.join(temp.dir, 'no-such-dir');
    const logger = recordingLogger();
    const sources: Array<[string, MetricsSource]> = [
      ['missing directory', new MultiprocessRegistry({ dir: missing, logger })],
      ['rejection', failingSource(() => Promise.reject(new Error('collector exploded')))],
      ['synchronous throw', failingSource(() => {
        throw new Error('thrown before any promise');
      })],
      ['non-Error rejection', failingSource(() => Promise.reject('a bare string'))],
    ];
    for (const [what, source] of sources) {
      const urls = [
        await serveNode(t, metricsHandler(source, { logger })),
        await serveExpress(t, metricsHandler(source, { logger })),
        await serveFastify(t, { registry: source, logger }),
      ];
      for (const url of urls) {
        for (let attempt = 0; attempt < 2; attempt++) {
          const result = await request(url, { headers: { 'Accept-Encoding': 'gzip' } });
          assert.equal(result.status, 500, `${what} at ${url}`);
          assert.equal(result.headers['content-type'], 'text/plain; charset=utf-8');
          assert.equal(result.text, 'Internal Server Error: collecting metrics failed (see the server log)\n');
        }
      }
    }
    assert.ok(logger.messages.some((m) => m.includes(missing) && /does not exist/.test(m)), logger.messages.join('\n'));
    assert.ok(logger.messages.some((m) => m.includes('collector exploded')));
    assert.ok(logger.messages.some((m) => m.includes('thrown before any promise')));
    assert.ok(logger.messages.some((m) => m.includes('a bare string')));
    assert.ok(logger.messages.every((m) => m.startsWith('collecting metrics failed: ')), logger.messages.join('\n'));

    const healthy = await serveNode(t, metricsHandler(new MultiprocessRegistry({ dir: fixtureDir(t) })));
    assert.equal((await request(healthy)).status, 200, 'this process still serves');
  });
});
