// Pushgateway, prom-client's client, pushing the merged view of the directory.
//
// First the exact requests, against a local node:http server that records
// them, side by side with prom-client's own Pushgateway (15.1.3, a dependency)
// as the oracle: method, path, headers and body of every kind of call, what the
// calls resolve to, errors, timeouts, requireJobName; and the deliberate
// differences (docs/api.md, "Pushing to a Pushgateway").
//
// Then a real Pushgateway (Debian's prometheus-pushgateway, started here on
// 127.0.0.1, metrics in memory): forked writers into a temporary directory, one
// SIGKILLed, pushed from another process, read back from its /metrics and
// /api/v1/metrics; push and pushAdd semantics, delete, groupings with special
// characters, refused pushes, timeouts, gzip, examples/pushgateway/batch.js,
// an OpenMetrics registry, TLS and basic auth.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as promClient from 'prom-client';
import { Counter, Histogram, MultiprocessRegistry, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, PROMETHEUS_PROTOBUF_CONTENT_TYPE, Pushgateway, PushgatewayError, Registry, ValidationError, type PushgatewayRegistry } from '../src/index.js';
import { EXAMPLES, exampleEnv, runCommand } from './helpers/examples-processes.js';
import { tempDir } from './helpers/fixtures.js';
import { skipUnlessInstalled } from './helpers/programs.js';
import { findGroup, forkWriter, get, groupLines, pushFromProcess, startPushgateway, TLS_CA, TLS_FIXTURES, type PushgatewayServer, type Writer } from './helpers/pushgateway.js';

type Method = 'pushAdd' | 'push' | 'delete';
const METHODS: Method[] = ['pushAdd', 'push', 'delete'];
const HTTP_METHOD: Record<Method, string> = { pushAdd: 'POST', push: 'PUT', delete: 'DELETE' };

const TEXT = '# HELP test test\n# TYPE test counter\ntest 100\n';

/** A registry that answers `text`: anything with metrics() and contentType will do. */
function textRegistry(text: string, contentType: string = PROMETHEUS_CONTENT_TYPE): PushgatewayRegistry {
  return { metrics: async () => text, contentType };
}

// ---------------------------------------------------------------------------
// A server that records every request.

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Whether it came over TLS. */
  encrypted: boolean;
}

type Answer = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface RecordingServer {
  url: string;
  requests: Recorded[];
  /** How the next requests are answered; default 200 with an empty body. */
  answer: Answer;
  close(): Promise<void>;
}

async function recordingServer(options: { tls?: boolean } = {}): Promise<RecordingServer> {
  const state: RecordingServer = {
    url: '',
    requests: [],
    answer: (_req, res) => res.end(),
    close: async () => undefined,
  };
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), encrypted: (req.socket as { encrypted?: boolean }).encrypted === true });
      state.answer(req, res);
    });
  };
  const server = options.tls
    ? https.createServer({ cert: fs.readFileSync(path.join(TLS_FIXTURES, 'cert.pem')), key: fs.readFileSync(path.join(TLS_FIXTURES, 'key.pem')) }, handle)
    : http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}

/** The one request `call` sends (none is an error). */
async function sent(server: RecordingServer, call: () => Promise<unknown>): Promise<Recorded> {
  const before = server.requests.length;
  await call();
  assert.equal(server.requests.length, before + 1, 'one request');
  return server.requests[before];
}

/** The headers both clients send, besides those of the connection and the body's framing. */
function comparableHeaders(headers: http.IncomingHttpHeaders): http.IncomingHttpHeaders {
  const { host, connection, 'transfer-encoding': transferEncoding, 'content-length': contentLength, 'content-type': contentType, ...rest } = headers;
  void [host, connection, transferEncoding, contentLength, contentType];
  return rest;
}

interface Case {
  what: string;
  /** The gateway URL from the server's base URL. */
  url?: (base: string) => string;
  options?: Record<string, unknown>;
  method: Method;
  params?: Pushgateway.Parameters;
}

const CASES: Case[] = [
  { what: 'a job', method: 'pushAdd', params: { jobName: 'testJob' } },
  { what: 'groupings, in their order', method: 'push', params: { jobName: 'testJob', groupings: { key: 'value', instance: 'host-1', a: 'b' } } },
  {
    what: 'job and groupings percent-encoded with encodeURIComponent',
    method: 'pushAdd',
    params: { jobName: 'test&Job é/x', groupings: { key: 'va&lue', 'sp ace': 'a b', path: 'a/b', 'path@base64': 'YS9i', odd: "x=y?#%+!'()*~" } },
  },
  { what: 'an empty grouping value', method: 'push', params: { jobName: 'testJob', groupings: { instance: '' } } },
  { what: 'a grouping value that is not a string (as JavaScript callers may pass)', method: 'push', params: { jobName: 'testJob', groupings: { shard: 5 as unknown as string } } },
  { what: 'a url ending in /', url: (base) => `${base}/`, method: 'pushAdd', params: { jobName: 'testJob' } },
  { what: 'a url with a path', url: (base) => `${base}/path`, method: 'push', params: { jobName: 'testJob', groupings: { key: 'value' } } },
  { what: 'a url with a path ending in / (two slashes follow, as in prom-client)', url: (base) => `${base}/path/`, method: 'pushAdd', params: { jobName: 'testJob' } },
  { what: 'a url with a query and a fragment (both dropped)', url: (base) => `${base}/a/b?q=1#top`, method: 'pushAdd', params: { jobName: 'testJob' } },
  { what: 'a url with dot segments', url: (base) => `${base}/a b/../c`, method: 'push', params: { jobName: 'testJob' } },
  { what: 'basic auth in the url, percent-decoded', url: (base) => base.replace('://', '://us%40er:p%3Ass@'), method: 'pushAdd', params: { jobName: 'testJob' } },
  { what: 'delete: no body', method: 'delete', params: { jobName: 'testJob', groupings: { key: 'value' } } },
  { what: 'request options and headers of the caller', options: { timeout: 5000, headers: { 'unit-test': '1', 'X-Other': 'two' } }, method: 'push', params: { jobName: 'testJob' } },
  { what: 'gzip when the headers ask for it', options: { headers: { 'Content-Encoding': 'gzip' } }, method: 'pushAdd', params: { jobName: 'testJob' } },
  { what: 'no Content-Encoding on a delete', options: { headers: { 'Content-Encoding': 'gzip', 'unit-test': '1' } }, method: 'delete', params: { jobName: 'testJob' } },
  { what: 'requireJobName false: /metrics alone', options: { requireJobName: false }, method: 'pushAdd' },
  {
    what: 'requireJobName false: groupings without a job are dropped',
    options: { requireJobName: false },
    method: 'push',
    params: { groupings: { a: 'b' } } as unknown as Pushgateway.Parameters,
  },
  { what: 'requireJobName false with a job', options: { requireJobName: false }, method: 'delete', params: { jobName: 'testJob' } },
];

describe('Pushgateway: the request, as prom-client sends it', () => {
  let server: RecordingServer;
  before(async () => {
    server = await recordingServer();
  });
  after(() => server.close());

  const theirs = (url: string, options?: object, registry: PushgatewayRegistry = textRegistry(TEXT)): promClient.Pushgateway<promClient.RegistryContentType> =>
    new promClient.Pushgateway(url, options, registry as unknown as promClient.Registry);

  for (const c of CASES) {
    test(`${c.what}: ${HTTP_METHOD[c.method]} as prom-client's`, async () => {
      const url = c.url ? c.url(server.url) : server.url;
      // prom-client may change the options it is given (a delete drops Content-Encoding from them): one copy each.
      const copy = (): Record<string, unknown> | undefined => (c.options ? structuredClone(c.options) : undefined);
      const expected = await sent(server, () => theirs(url, copy())[c.method](c.params!));
      const actual = await sent(server, () => new Pushgateway(url, copy(), textRegistry(TEXT))[c.method](c.params));
      assert.equal(actual.method, HTTP_METHOD[c.method]);
      assert.equal(actual.method, expected.method);
      assert.equal(actual.url, expected.url);
      assert.deepEqual(comparableHeaders(actual.headers), comparableHeaders(expected.headers));
      assert.deepEqual(actual.body, expected.body);
      // As prom-client: no Content-Type of our own, the body chunked.
      if (c.method === 'delete') {
        assert.equal(actual.body.length, 0);
        assert.equal(actual.headers['content-type'], undefined);
        assert.equal(actual.headers['content-encoding'], undefined);
      } else {
        assert.equal(actual.headers['content-type'], undefined);
        assert.equal(actual.headers['transfer-encoding'], 'chunked');
        assert.equal(expected.headers['content-type'], undefined, 'prom-client sends no Content-Type');
        assert.equal(expected.headers['transfer-encoding'], 'chunked');
        const text = actual.headers['content-encoding'] === 'gzip' ? gunzipSync(actual.body).toString('utf8') : actual.body.toString('utf8');
        assert.equal(text, TEXT);
      }
    });
  }

  test('the paths, spelled out', async () => {
    const paths: Array<[string, string, Pushgateway.Parameters | undefined, string]> = [
      [server.url, 'pushAdd', { jobName: 'testJob' }, '/metrics/job/testJob'],
      [server.url, 'push', { jobName: 'test&Job' }, '/metrics/job/test%26Job'],
      [server.url, 'pushAdd', { jobName: 'testJob', groupings: { key: 'va&lue' } }, '/metrics/job/testJob/key/va%26lue'],
      [`${server.url}/path`, 'push', { jobName: 'testJob', groupings: { key: 'value' } }, '/path/metrics/job/testJob/key/value'],
      [server.url, 'pushAdd', { jobName: 'j', groupings: { path: 'a/b' } }, '/metrics/job/j/path/a%2Fb'],
      [server.url, 'pushAdd', { jobName: 'j', groupings: { 'path@base64': 'YS9i' } }, '/metrics/job/j/path%40base64/YS9i'],
      [server.url, 'pushAdd', { jobName: "it's", groupings: { a: "!'()*~" } }, "/metrics/job/it%27s/a/!%27()*~"],
    ];
    for (const [url, method, params, expected] of paths) {
      const request = await sent(server, () => new Pushgateway(url, {}, textRegistry(TEXT))[method as Method](params));
      assert.equal(request.url, expected);
    }
  });

  test('the gzipped body is zlib.gzipSync of the registry text, byte for byte', async () => {
    const request = await sent(server, () => new Pushgateway(server.url, { headers: { 'Content-Encoding': 'gzip' } }, textRegistry(TEXT)).push({ jobName: 'j' }));
    assert.deepEqual(request.body, gzipSync(TEXT));
  });
});

describe('Pushgateway: answers, errors, timeouts and requireJobName, as prom-client', () => {
  let server: RecordingServer;
  before(async () => {
    server = await recordingServer();
  });
  after(() => server.close());

  const theirs = (options?: object | null): promClient.Pushgateway<promClient.RegistryContentType> =>
    new promClient.Pushgateway(server.url, options, textRegistry(TEXT) as unknown as promClient.Registry);
  const ours = (options?: object | null): Pushgateway => new Pushgateway(server.url, options, textRegistry(TEXT));

  test('each call resolves with { resp, body }: the response and its body as a string', async () => {
    for (const status of [200, 202, 204, 302]) {
      server.answer = (_req, res) => {
        res.statusCode = status;
        if (status === 302) res.setHeader('Location', '/elsewhere');
        res.end(status === 204 ? undefined : `answered ${status}\n`);
      };
      for (const method of METHODS) {
        const mine = (await ours()[method]({ jobName: 'j' })) as Pushgateway.Result;
        const reference = (await theirs()[method]({ jobName: 'j' })) as Pushgateway.Result;
        assert.ok(mine.resp instanceof http.IncomingMessage);
        assert.equal(mine.resp.statusCode, status);
        assert.equal(mine.body, status === 204 ? '' : `answered ${status}\n`);
        assert.equal(mine.body, reference.body);
        assert.equal(mine.resp.statusCode, reference.resp.statusCode);
      }
    }
    assert.ok(!server.requests.some((r) => r.url === '/elsewhere'), 'a redirect is not followed');
  });

  test('a status of 400 or more rejects with a PushgatewayError carrying the status and the body, in prom-client\'s words', async () => {
    for (const status of [400, 401, 404, 500, 503]) {
      server.answer = (_req, res) => {
        res.statusCode = status;
        res.end(`refused: ${status}\n`);
      };
      for (const method of METHODS) {
        const error = await ours()[method]({ jobName: 'j' }).then(
          () => assert.fail('resolved'),
          (err: unknown) => err,
        );
        const reference = await theirs()[method]({ jobName: 'j' }).then(
          () => assert.fail('prom-client resolved'),
          (err: Error) => err,
        );
        assert.ok(error instanceof PushgatewayError, String(error));
        assert.ok(error instanceof Error);
        assert.equal(error.message, `push failed with status ${status}, refused: ${status}\n`);
        assert.equal(error.message, reference.message);
        assert.equal(error.statusCode, status);
        assert.equal(error.body, `refused: ${status}\n`);
        assert.equal(error.name, 'PushgatewayError');
      }
    }
  });

  test('timeout: a gateway that does not answer in time rejects with "Pushgateway request timed out"', async () => {
    server.answer = () => undefined; // never answers
    for (const method of METHODS) {
      const started = Date.now();
      const error = await ours({ timeout: 100 })[method]({ jobName: 'j' }).then(
        () => assert.fail('resolved'),
        (err: unknown) => err,
      );
      const took = Date.now() - started;
      const reference = await theirs({ timeout: 100 })[method]({ jobName: 'j' }).then(
        () => assert.fail('prom-client resolved'),
        (err: Error) => err,
      );
      assert.ok(error instanceof PushgatewayError, String(error));
      assert.equal(error.message, 'Pushgateway request timed out');
      assert.equal(error.message, reference.message);
      assert.equal(error.statusCode, undefined);
      assert.ok(took >= 90 && took < 5000, `took ${took} ms`);
    }
  });

  test('a gateway that cannot be reached rejects with the socket error, as in prom-client', async () => {
    const closed = await recordingServer();
    await closed.close();
    const mine = await new Pushgateway(closed.url, {}, textRegistry(TEXT)).pushAdd({ jobName: 'j' }).then(
      () => assert.fail('resolved'),
      (err: NodeJS.ErrnoException) => err,
    );
    const reference = await new promClient.Pushgateway(closed.url, {}, textRegistry(TEXT) as unknown as promClient.Registry).pushAdd({ jobName: 'j' }).then(
      () => assert.fail('resolved'),
      (err: NodeJS.ErrnoException) => err,
    );
    assert.equal(mine.code, 'ECONNREFUSED');
    assert.equal(mine.code, reference.code);
  });

  test('requireJobName (default true): a call without a jobName throws synchronously, sends nothing', () => {
    const before = server.requests.length;
    const missing: unknown[] = [undefined, {}, { jobName: '' }, { groupings: { a: 'b' } }];
    for (const method of METHODS) {
      for (const params of missing) {
        for (const options of [undefined, null, {}, { requireJobName: true }]) {
          let error: unknown;
          try {
            void ours(options)[method](params as Pushgateway.Parameters);
          } catch (err) {
            error = err;
          }
          let reference: unknown;
          try {
            void theirs(options)[method](params as Pushgateway.Parameters);
          } catch (err) {
            reference = err;
          }
          assert.ok(error instanceof ValidationError, `${method}(${JSON.stringify(params)}): ${String(error)}`);
          assert.equal(error.message, 'Missing jobName parameter');
          assert.equal(error.message, (reference as Error).message);
        }
      }
    }
    assert.equal(server.requests.length, before);
  });
});

describe('Pushgateway: what it does differently from prom-client, on purpose', () => {
  let server: RecordingServer;
  before(async () => {
    server = await recordingServer();
  });
  after(() => server.close());

  test('the caller\'s headers object is never changed, so gzip survives a delete (prom-client drops it for good)', async () => {
    const headers = { 'Content-Encoding': 'gzip', 'unit-test': '1' };
    const gateway = new Pushgateway(server.url, { headers }, textRegistry(TEXT));
    await gateway.delete({ jobName: 'j' });
    const push = await sent(server, () => gateway.push({ jobName: 'j' }));
    assert.deepEqual(headers, { 'Content-Encoding': 'gzip', 'unit-test': '1' });
    assert.equal(push.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(push.body).toString('utf8'), TEXT);

    const theirHeaders = { 'Content-Encoding': 'gzip', 'unit-test': '1' };
    const reference = new promClient.Pushgateway(server.url, { headers: theirHeaders }, textRegistry(TEXT) as unknown as promClient.Registry);
    await reference.delete({ jobName: 'j' });
    const theirPush = await sent(server, () => reference.push({ jobName: 'j' }));
    assert.deepEqual(theirHeaders, { 'unit-test': '1' }, 'prom-client 15.1.3 deletes Content-Encoding from the caller\'s headers');
    assert.equal(theirPush.headers['content-encoding'], undefined);
  });

  test('header names in any case: a lower-case content-encoding: gzip is compressed (prom-client sends the text raw)', async () => {
    const options = { headers: { 'content-encoding': 'gzip' } };
    const mine = await sent(server, () => new Pushgateway(server.url, structuredClone(options), textRegistry(TEXT)).pushAdd({ jobName: 'j' }));
    assert.equal(gunzipSync(mine.body).toString('utf8'), TEXT);
    const reference = await sent(server, () => new promClient.Pushgateway(server.url, structuredClone(options), textRegistry(TEXT) as unknown as promClient.Registry).pushAdd({ jobName: 'j' }));
    assert.equal(reference.body.toString('utf8'), TEXT, 'prom-client: gzip claimed, text sent');
    const deleted = await sent(server, () => new Pushgateway(server.url, structuredClone(options), textRegistry(TEXT)).delete({ jobName: 'j' }));
    assert.equal(deleted.headers['content-encoding'], undefined);
  });

  test('no Content-Type unless the caller\'s headers name one (as prom-client)', async () => {
    for (const contentType of [PROMETHEUS_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE]) {
      const request = await sent(server, () => new Pushgateway(server.url, {}, textRegistry(TEXT, contentType)).push({ jobName: 'j' }));
      assert.equal(request.headers['content-type'], undefined);
    }
    const own = await sent(server, () => new Pushgateway(server.url, { headers: { 'content-TYPE': 'text/plain' } }, textRegistry(TEXT)).push({ jobName: 'j' }));
    assert.equal(own.headers['content-type'], 'text/plain');
  });

  test('a registry that fails: the call rejects with its error and sends nothing', async () => {
    const failure = new Error('the directory vanished');
    const before = server.requests.length;
    const registry: PushgatewayRegistry = { metrics: () => Promise.reject(failure), contentType: PROMETHEUS_CONTENT_TYPE };
    for (const method of ['pushAdd', 'push'] as const) {
      await assert.rejects(new Pushgateway(server.url, {}, registry)[method]({ jobName: 'j' }), (err) => err === failure);
    }
    assert.equal(server.requests.length, before);
    // delete reads no metrics
    await new Pushgateway(server.url, {}, registry).delete({ jobName: 'j' });
  });

  test('the request starts at once, as in prom-client: the timeout also covers a scrape slower than it, and nothing is sent', async () => {
    const before = server.requests.length;
    const slow: PushgatewayRegistry = { metrics: () => new Promise((resolve) => setTimeout(() => resolve(TEXT), 300)), contentType: PROMETHEUS_CONTENT_TYPE };
    await assert.rejects(new Pushgateway(server.url, { timeout: 100 }, slow).push({ jobName: 'j' }), /Pushgateway request timed out/);
    const request = await sent(server, () => new Pushgateway(server.url, { timeout: 1000 }, slow).push({ jobName: 'j' }));
    assert.equal(request.body.toString('utf8'), TEXT);
    assert.equal(server.requests.length, before + 1);
  });

  test('a gateway URL that does not parse rejects (it does not throw)', async () => {
    const pending = new Pushgateway('not a url', {}, textRegistry(TEXT)).pushAdd({ jobName: 'j' });
    await assert.rejects(pending, (err: NodeJS.ErrnoException) => err.code === 'ERR_INVALID_URL');
  });
});

describe('Pushgateway: https and the options of node:https', () => {
  test('an https URL goes through node:https with the caller\'s options (here ca)', async () => {
    const server = await recordingServer({ tls: true });
    try {
      server.answer = (_req, res) => res.end('over tls');
      const { body } = (await new Pushgateway(server.url, { ca: TLS_CA }, textRegistry(TEXT)).push({ jobName: 'j' })) as Pushgateway.Result;
      assert.equal(body, 'over tls');
      assert.equal(server.requests.at(-1)!.url, '/metrics/job/j');
      assert.equal(server.requests.at(-1)!.encrypted, true);
      await assert.rejects(new Pushgateway(server.url, {}, textRegistry(TEXT)).push({ jobName: 'j' }), (err: NodeJS.ErrnoException) => err.code === 'SELF_SIGNED_CERT_IN_CHAIN' || err.code === 'DEPTH_ZERO_SELF_SIGNED_CERT');
    } finally {
      await server.close();
    }
  });
});

// Code written against prom-client's types compiles against ours (checked by `npm run typecheck`; never run).
function promClientCodeCompiles(registry: promClient.Registry, openMetrics: promClient.Registry<promClient.OpenMetricsContentType>): void {
  const gateway = new Pushgateway('http://127.0.0.1:9091', { timeout: 5000, agent: new http.Agent({ keepAlive: true, maxSockets: 5 }) }, registry);
  const withNull = new Pushgateway('http://127.0.0.1:9091', null, openMetrics);
  const params: Pushgateway.Parameters = { jobName: 'test', groupings: { key: 'value' } };
  void gateway.pushAdd(params).then(({ resp, body }) => [resp, body]);
  void gateway.push({ jobName: 'test' }).catch((err: Error) => err.message);
  void withNull.delete({ jobName: 'test' });
  const asTheirs: promClient.Pushgateway<promClient.PrometheusContentType> = gateway;
  const asOurs: Pushgateway<promClient.OpenMetricsContentType> = new promClient.Pushgateway('http://127.0.0.1:9091', undefined, openMetrics);
  const result: Promise<{ resp?: unknown; body?: unknown }> = asOurs.pushAdd({ jobName: 'x' });
  void [asTheirs, result];
}
void promClientCodeCompiles;

// ---------------------------------------------------------------------------
// A real Pushgateway.

/** The help texts of push-worker.ts's metrics. */
const HELP = { jobs: 'Jobs done.', duration: 'How long a job took.', queue: 'Jobs waiting.' };

describe('a real Pushgateway', { skip: skipUnlessInstalled('prometheus-pushgateway') }, () => {
  let work: { dir: string; cleanup: () => void };
  let metricsDir: string;
  let gateway: PushgatewayServer;
  const writers: Writer[] = [];

  before(async () => {
    work = tempDir('prom-multiproc-pushgateway-');
    metricsDir = path.join(work.dir, 'metrics');
    fs.mkdirSync(metricsDir);
    gateway = await startPushgateway(work.dir);
  });

  after(async () => {
    try {
      for (const writer of writers) await writer.kill();
      await gateway?.stop();
    } finally {
      work?.cleanup();
    }
  });

  test('a protobuf registry pushes protobuf with its Content-Type (gzipped too), and the Pushgateway reads it', async () => {
    const registry = new Registry(PROMETHEUS_PROTOBUF_CONTENT_TYPE);
    new Counter({ name: 'pb_jobs_total', help: 'Jobs.', labelNames: ['kind'], registers: [registry] }).inc({ kind: 'x' }, 3);
    const sizes = new Histogram({ name: 'pb_size_bytes', help: 'Sizes.', buckets: [10], nativeHistogramBucketFactor: 1.1, registers: [registry] });
    for (const v of [1, 5, 50]) sizes.observe(v);
    for (const [job, headers] of [['pb', {}], ['pbgz', { 'Content-Encoding': 'gzip' }]] as const) {
      assert.deepEqual((await new Pushgateway(gateway.url, { headers }, registry).push({ jobName: job })).body, '');
      assert.deepEqual(groupLines(await gateway.metrics(), job).filter((line) => !line.startsWith('push_failure_time_seconds{')).sort(), [
        `pb_jobs_total{instance="",job="${job}",kind="x"} 3`,
        `pb_size_bytes_bucket{instance="",job="${job}",le="10"} 2`,
        `pb_size_bytes_bucket{instance="",job="${job}",le="+Inf"} 3`,
        `pb_size_bytes_count{instance="",job="${job}"} 3`,
        `pb_size_bytes_sum{instance="",job="${job}"} 56`,
      ].sort());
    }
  });

  test('the merged directory, pushed from another process: live and SIGKILLed writers\' totals, read back exactly', async () => {
    writers.push(await forkWriter(metricsDir, { jobs: { a: 5 }, observations: [0.25], queue: 1 }));
    writers.push(await forkWriter(metricsDir, { jobs: { a: 7, b: 2 }, observations: [0.5, 2], queue: 2 }));
    const victim = await forkWriter(metricsDir, { jobs: { a: 11 }, observations: [0.5], queue: 4 });
    assert.deepEqual(await victim.kill(), { code: null, signal: 'SIGKILL' });
    assert.ok(fs.readdirSync(metricsDir).includes(`counter_${victim.pid}.db`), 'the killed writer left its file');

    const grouping = { instance: 'host-1', shard: 'a' };
    const pushed = await pushFromProcess(metricsDir, { url: gateway.url, method: 'pushAdd', params: { jobName: 'batch', groupings: grouping } });
    assert.deepEqual(pushed, { ok: true, statusCode: 200, body: '' });

    const labels = 'instance="host-1",job="batch"';
    const expected = (jobsA: number): string[] => [
      // The Pushgateway prints le after the other labels.
      `job_duration_seconds_bucket{${labels},shard="a",le="0.3"} 1`,
      `job_duration_seconds_bucket{${labels},shard="a",le="1"} 3`,
      `job_duration_seconds_bucket{${labels},shard="a",le="+Inf"} 4`,
      `job_duration_seconds_sum{${labels},shard="a"} 3.25`,
      `job_duration_seconds_count{${labels},shard="a"} 4`,
      `jobs_total{${labels},kind="a",shard="a"} ${jobsA}`,
      `jobs_total{${labels},kind="b",shard="a"} 2`,
      `push_failure_time_seconds{${labels},shard="a"} 0`,
      `queue_length{${labels},shard="a"} 7`,
    ];
    const exposition = await gateway.metrics();
    assert.deepEqual(groupLines(exposition, 'batch'), expected(23));
    for (const typeLine of ['# TYPE jobs_total counter', '# TYPE job_duration_seconds histogram', '# TYPE queue_length gauge', `# HELP jobs_total ${HELP.jobs}`]) {
      assert.ok(exposition.split('\n').includes(typeLine), `${typeLine} in:\n${exposition}`);
    }

    const group = findGroup(await gateway.groups(), { job: 'batch', ...grouping });
    assert.ok(group, 'the group is listed by /api/v1/metrics');
    assert.equal(group.last_push_successful, true);
    const metricLabels = { job: 'batch', ...grouping };
    assert.deepEqual(
      { type: group.families.jobs_total.type, help: group.families.jobs_total.help, metrics: group.families.jobs_total.metrics },
      {
        type: 'COUNTER',
        help: HELP.jobs,
        metrics: [
          { labels: { ...metricLabels, kind: 'a' }, value: '23' },
          { labels: { ...metricLabels, kind: 'b' }, value: '2' },
        ],
      },
    );
    assert.deepEqual(
      { type: group.families.job_duration_seconds.type, help: group.families.job_duration_seconds.help, metrics: group.families.job_duration_seconds.metrics },
      { type: 'HISTOGRAM', help: HELP.duration, metrics: [{ labels: metricLabels, buckets: { '0.3': '1', '1': '3', '+Inf': '4' }, count: '4', sum: '3.25' }] },
    );
    assert.deepEqual(group.families.queue_length.metrics, [{ labels: metricLabels, value: '7' }]);
    assert.equal(group.families.queue_length.type, 'GAUGE');

    // A live writer counts on; push (PUT) from yet another process sends the new totals.
    await writers[0].add({ a: 1 });
    const replaced = await pushFromProcess(metricsDir, { url: gateway.url, method: 'push', params: { jobName: 'batch', groupings: grouping } });
    assert.deepEqual(replaced, { ok: true, statusCode: 200, body: '' });
    assert.deepEqual(groupLines(await gateway.metrics(), 'batch'), expected(24));

    // And a delete from another process removes the group.
    const deleted = await pushFromProcess(metricsDir, { url: gateway.url, method: 'delete', params: { jobName: 'batch', groupings: grouping } });
    assert.deepEqual(deleted, { ok: true, statusCode: 202, body: '' });
    assert.deepEqual(groupLines(await gateway.metrics(), 'batch'), []);
    assert.equal(findGroup(await gateway.groups(), { job: 'batch', ...grouping }), undefined);

    for (const writer of writers.splice(0)) assert.deepEqual(await writer.stop(), { code: 0, signal: null });
  });

  test('push replaces the whole group, pushAdd only the metrics it carries; other groups are left alone; delete removes one group', async () => {
    const gw = (text: string): Pushgateway => new Pushgateway(gateway.url, {}, textRegistry(text));
    const one = { jobName: 'semantics', groupings: { instance: 'one' } };
    const two = { jobName: 'semantics', groupings: { instance: 'two' } };
    const lines = async (): Promise<string[]> => groupLines(await gateway.metrics(), 'semantics').filter((l) => !l.startsWith('push_failure_time_seconds'));

    await gw('# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n').push(one);
    await gw('# TYPE c gauge\nc 1\n').push(two);
    assert.deepEqual(await lines(), ['a{instance="one",job="semantics"} 1', 'b{instance="one",job="semantics"} 1', 'c{instance="two",job="semantics"} 1']);

    await gw('# TYPE a gauge\na 2\n').pushAdd(one);
    assert.deepEqual(await lines(), ['a{instance="one",job="semantics"} 2', 'b{instance="one",job="semantics"} 1', 'c{instance="two",job="semantics"} 1'], 'pushAdd keeps b');

    await gw('# TYPE a gauge\na 3\n').push(one);
    assert.deepEqual(await lines(), ['a{instance="one",job="semantics"} 3', 'c{instance="two",job="semantics"} 1'], 'push drops b');

    const { resp } = (await gw('').delete(one)) as Pushgateway.Result;
    assert.equal(resp.statusCode, 202);
    assert.deepEqual(await lines(), ['c{instance="two",job="semantics"} 1']);
    assert.equal(findGroup(await gateway.groups(), { job: 'semantics', instance: 'one' }), undefined);
    await gw('').delete(one); // deleting what is not there is accepted
    await gw('').delete(two);
    assert.deepEqual(await lines(), []);
  });

  test('groupings with special characters arrive as sent; "/" in a value (percent-encoded, as prom-client does) is refused; @base64 works', async () => {
    const gw = new Pushgateway(gateway.url, {}, textRegistry('# TYPE special gauge\nspecial 1\n'));
    const groupings = { instance: 'host 1 & é', query: 'a=b?c#d', empty: '' };
    await gw.push({ jobName: 'special & job', groupings });
    assert.ok(findGroup(await gateway.groups(), { job: 'special & job', ...groupings }), JSON.stringify(await gateway.groups()));
    await gw.delete({ jobName: 'special & job', groupings });

    // prom-client percent-encodes "/" as %2F, which the Pushgateway decodes before splitting the path.
    for (const params of [{ jobName: 'slash', groupings: { path: 'a/b' } }, { jobName: 'a/b' }]) {
      const error = await gw.push(params).then(
        () => assert.fail('accepted'),
        (err: unknown) => err,
      );
      assert.ok(error instanceof PushgatewayError, String(error));
      assert.equal(error.statusCode, 400);
      assert.match(error.body!, /^odd number of components in label string/);
      assert.equal(error.message, `push failed with status 400, ${error.body}`);
    }
    // The Pushgateway's own way: the label name with @base64, the value in base64url.
    await gw.push({ jobName: 'slash', groupings: { 'path@base64': Buffer.from('a/b').toString('base64url') } });
    assert.ok(findGroup(await gateway.groups(), { job: 'slash', path: 'a/b' }));
    await gw.delete({ jobName: 'slash', groupings: { 'path@base64': Buffer.from('a/b').toString('base64url') } });
    assert.equal(findGroup(await gateway.groups(), { job: 'slash', path: 'a/b' }), undefined);
  });

  test('a push the Pushgateway refuses rejects with its status and body', async () => {
    const invalid = await new Pushgateway(gateway.url, {}, textRegistry('bad{ 1\n')).push({ jobName: 'invalid' }).then(
      () => assert.fail('accepted'),
      (err: unknown) => err,
    );
    assert.ok(invalid instanceof PushgatewayError, String(invalid));
    assert.equal(invalid.statusCode, 400);
    assert.match(invalid.body!, /^text format parsing error in line 1/);
    assert.equal(invalid.message, `push failed with status 400, ${invalid.body}`);

    // Inconsistent with what it holds: one name, two types.
    await new Pushgateway(gateway.url, {}, textRegistry('# TYPE clash gauge\nclash 1\n')).push({ jobName: 'clash', groupings: { instance: 'one' } });
    const clash = await new Pushgateway(gateway.url, {}, textRegistry('# TYPE clash counter\nclash 1\n')).push({ jobName: 'clash', groupings: { instance: 'two' } }).then(
      () => assert.fail('accepted'),
      (err: unknown) => err,
    );
    assert.ok(clash instanceof PushgatewayError, String(clash));
    assert.equal(clash.statusCode, 400);
    assert.match(clash.body!, /inconsistent/);
    await new Pushgateway(gateway.url).delete({ jobName: 'clash', groupings: { instance: 'one' } });

    // requireJobName false pushes to /metrics alone, which the Pushgateway (unlike other gateways) does not take.
    const noJob = await new Pushgateway(gateway.url, { requireJobName: false }, textRegistry(TEXT)).pushAdd().then(
      () => assert.fail('accepted'),
      (err: unknown) => err,
    );
    assert.ok(noJob instanceof PushgatewayError);
    assert.equal(noJob.statusCode, 405);
  });

  test('timeout: a Pushgateway that stopped answering (SIGSTOP) rejects after the timeout', async () => {
    gateway.pause();
    try {
      const started = Date.now();
      const error = await new Pushgateway(gateway.url, { timeout: 300 }, textRegistry('# TYPE paused gauge\npaused 1\n')).push({ jobName: 'paused' }).then(
        () => assert.fail('answered'),
        (err: unknown) => err,
      );
      const took = Date.now() - started;
      assert.ok(error instanceof PushgatewayError, String(error));
      assert.equal(error.message, 'Pushgateway request timed out');
      assert.ok(took >= 250 && took < 10_000, `took ${took} ms`);
    } finally {
      gateway.resume();
    }
    await new Pushgateway(gateway.url).delete({ jobName: 'paused' });
  });

  test('gzip: the Pushgateway takes the compressed body', async () => {
    const gw = new Pushgateway(gateway.url, { headers: { 'Content-Encoding': 'gzip' } }, textRegistry('# TYPE zipped gauge\nzipped 42\n'));
    await gw.push({ jobName: 'zipped' });
    assert.deepEqual(groupLines(await gateway.metrics(), 'zipped').filter((l) => l.startsWith('zipped')), ['zipped{instance="",job="zipped"} 42']);
    await gw.delete({ jobName: 'zipped' });
  });

  test('examples/pushgateway/batch.js, as docs/api.md shows it: its workers\' totals arrive in its group', async () => {
    const dir = path.join(work.dir, 'batch-example');
    fs.mkdirSync(dir);
    const run = await runCommand(process.execPath, [path.join(EXAMPLES, 'pushgateway', 'batch.js')], exampleEnv({ PUSHGATEWAY_URL: gateway.url, PROMETHEUS_MULTIPROC_DIR: dir, WORKERS: '3' }));
    assert.deepEqual({ code: run.code, signal: run.signal }, { code: 0, signal: null }, run.output);
    assert.equal(run.output, 'pushed the totals of 3 workers: 200\n');
    const labels = `instance=${JSON.stringify(os.hostname())},job="nightly-import"`;
    assert.deepEqual(groupLines(await gateway.metrics(), 'nightly-import'), [
      `import_records_total{${labels},outcome="ok"} 3000`,
      `import_records_total{${labels},outcome="rejected"} 9`,
      `push_failure_time_seconds{${labels}} 0`,
    ]);
    await new Pushgateway(gateway.url).delete({ jobName: 'nightly-import', groupings: { instance: os.hostname() } });
  });

  test('an OpenMetrics registry: the Pushgateway parses text 0.0.4 only, so its counters arrive untyped and then clash with typed ones (as with prom-client)', async () => {
    const dir = path.join(work.dir, 'openmetrics');
    fs.mkdirSync(dir);
    const writer = await forkWriter(dir, { jobs: { a: 3 }, observations: [], queue: 0 });
    try {
      const registry = new MultiprocessRegistry({ dir, contentType: OPENMETRICS_CONTENT_TYPE });
      await new Pushgateway(gateway.url, {}, registry).push({ jobName: 'openmetrics' });
      registry.close();
      const exposition = await gateway.metrics();
      assert.ok(exposition.split('\n').includes('# TYPE jobs_total untyped'), exposition);
      assert.ok(groupLines(exposition, 'openmetrics').includes('jobs_total{instance="",job="openmetrics",kind="a"} 3'));
      assert.ok(exposition.split('\n').includes('# TYPE queue_length gauge'));
      // The same counters pushed typed (text 0.0.4) into another group now clash with the untyped ones.
      const typed = new MultiprocessRegistry({ dir });
      const clash = await new Pushgateway(gateway.url, {}, typed).push({ jobName: 'openmetrics', groupings: { instance: 'typed' } }).then(
        () => assert.fail('accepted'),
        (err: unknown) => err,
      );
      typed.close();
      assert.ok(clash instanceof PushgatewayError, String(clash));
      assert.equal(clash.statusCode, 400);
      assert.match(clash.body!, /inconsistent with existing metrics/);
      await new Pushgateway(gateway.url).delete({ jobName: 'openmetrics' });
    } finally {
      assert.deepEqual(await writer.stop(), { code: 0, signal: null });
    }
  });
});

describe('a real Pushgateway behind TLS and basic auth', { skip: skipUnlessInstalled('prometheus-pushgateway') }, () => {
  // bcrypt (cost 4) of 'push-secret'
  const HASH = '$2b$04$HQ3TEEJcs3gLlK6hBMow0uNqBMbMZ3GBZo9QXyMPlTdWMw9qejQia';
  let work: { dir: string; cleanup: () => void };
  let gateway: PushgatewayServer;

  before(async () => {
    work = tempDir('prom-multiproc-pushgateway-tls-');
    gateway = await startPushgateway(work.dir, { tls: true, basicAuthUsers: { pusher: HASH }, auth: 'pusher:push-secret' });
  });

  after(async () => {
    try {
      await gateway?.stop();
    } finally {
      work?.cleanup();
    }
  });

  test('https with user:password in the URL and the CA in the options', async () => {
    const url = gateway.url.replace('https://', 'https://pusher:push-secret@');
    const registry = textRegistry('# TYPE secure gauge\nsecure 1\n');
    await new Pushgateway(url, { ca: TLS_CA }, registry).push({ jobName: 'secure' });
    assert.deepEqual(groupLines(await gateway.metrics(), 'secure').filter((l) => l.startsWith('secure')), ['secure{instance="",job="secure"} 1']);

    for (const wrong of [gateway.url, gateway.url.replace('https://', 'https://pusher:wrong@')]) {
      const error = await new Pushgateway(wrong, { ca: TLS_CA }, registry).push({ jobName: 'secure' }).then(
        () => assert.fail('accepted'),
        (err: unknown) => err,
      );
      assert.ok(error instanceof PushgatewayError, String(error));
      assert.equal(error.statusCode, 401);
    }
    await new Pushgateway(url, { ca: TLS_CA }).delete({ jobName: 'secure' });
    assert.deepEqual(groupLines(await gateway.metrics(), 'secure'), []);
    assert.equal((await get(`${gateway.url}/metrics`, { ca: TLS_CA })).status, 401);
  });
});
