import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import { skipUnlessInstalled } from './helpers/programs.js';
import { runPromtool } from './helpers/promtool.js';
import * as zlib from 'node:zlib';
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, startExporter, ConfigError } from '../src/index.js';
import { exitOf, parseExposition, seriesKey, stopChild } from './helpers/concurrency-checks.js';
import { FIXTURES, tempDir } from './helpers/fixtures.js';
import { eventually, forkHttpWorker, request, type HttpWorker } from './helpers/http.js';

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'surfaces', 'cli.js');
/** What Prometheus 2.42 sends when it scrapes. */
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const USERS_OK = seriesKey('http_requests_total', { method: 'GET', route: '/users/:id', status: '200' });
const UNMATCHED_404 = seriesKey('http_requests_total', { method: 'GET', route: '<unmatched>', status: '404' });

interface ServeProcess {
  child: ChildProcess;
  /** The metrics URL the CLI printed. */
  url: string;
  /** Everything the process wrote so far. */
  output(): { stdout: string; stderr: string };
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PROMETHEUS_MULTIPROC_DIR;
  delete env.prometheus_multiproc_dir;
  return env;
}

/** Runs the built `prom-multiproc serve ARGS` and waits for the URL it prints; the test stops it. */
function startServe(t: TestContext, args: string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => stopChild(child));
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const onData = (): void => {
      const url = /serving the metrics of .* at (http:\/\/\S+)\n/.exec(stdout)?.[1];
      if (!url) return;
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      resolve({ child, url, output: () => ({ stdout, stderr }) });
    };
    const onExit = (code: number | null, signal: string | null): void =>
      reject(new Error(`serve exited (${code}, ${signal}) before printing its URL\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, env: cleanEnv(), encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Two forked Express workers writing into a fresh directory, and `perWorker` requests for /users/:id through each. */
async function twoWriters(t: TestContext, perWorker: number): Promise<{ dir: string; workers: HttpWorker[] }> {
  const temp = tempDir('prom-multiproc-exporter-');
  t.after(temp.cleanup);
  const workers = await Promise.all([forkHttpWorker('express', temp.dir), forkHttpWorker('express', temp.dir)]);
  for (const worker of workers) t.after(() => worker.stop());
  await sendRequests(workers, perWorker);
  return { dir: temp.dir, workers };
}

/** A fresh directory holding the files Python wrote for the `counters` fixture: quick, for tests about HTTP, not about writers. */
function fixtureDir(t: TestContext): string {
  const temp = tempDir('prom-multiproc-exporter-');
  t.after(temp.cleanup);
  fs.cpSync(path.join(FIXTURES, 'counters', 'db'), temp.dir, { recursive: true });
  return temp.dir;
}

async function sendRequests(workers: HttpWorker[], perWorker: number): Promise<void> {
  for (const worker of workers) {
    for (let i = 0; i < perWorker; i++) assert.equal((await request(`${worker.url}/users/${i}`)).status, 200);
    assert.equal((await request(`${worker.url}/no-such-page`)).status, 404);
  }
}

/**
 * Scrapes until `check` passes: a worker records a request when its response
 * finishes, which its client may see a moment before.
 */
function scrapeUntil(url: string, check: (parsed: ReturnType<typeof parseExposition>, text: string) => void): Promise<void> {
  return eventually(async () => {
    const result = await request(url);
    assert.equal(result.status, 200, result.text);
    check(parseExposition(result.text), result.text);
  });
}

before(() => {
  assert.ok(fs.existsSync(CLI), `${CLI} does not exist: build first with npx tsc -p tsconfig.json`);
});

describe('prom-multiproc serve', () => {
  test('serves the merged metrics of two forked writers, read again on every scrape; promtool check metrics accepts them', { skip: skipUnlessInstalled('promtool') }, async (t) => {
    const { dir, workers } = await twoWriters(t, 3);
    const serve = await startServe(t, ['--dir', dir, '--port', '0']);
    assert.match(serve.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'binds 127.0.0.1 and prints the real port');
    assert.notEqual(new URL(serve.url).port, '0');

    const first = await request(serve.url);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers['content-type'], PROMETHEUS_CONTENT_TYPE);
    assert.equal(first.headers['content-encoding'], undefined, 'no gzip unless asked');
    await scrapeUntil(serve.url, (parsed, text) => {
      assert.equal(parsed.byKey.get(USERS_OK)?.value, 6, text);
      assert.equal(parsed.byKey.get(UNMATCHED_404)?.value, 2, text);
      assert.equal(parsed.types.get('http_request_duration_seconds'), 'histogram');
      assert.equal(parsed.byKey.get(seriesKey('http_request_duration_seconds_count', { method: 'GET', route: '/users/:id', status: '200' }))?.value, 6);
    });

    await sendRequests(workers, 2);
    await scrapeUntil(serve.url, (parsed, text) => {
      assert.equal(parsed.byKey.get(USERS_OK)?.value, 10, `a later scrape sees the new requests:\n${text}`);
      assert.equal(parsed.byKey.get(UNMATCHED_404)?.value, 4);
    });

    const served = await request(serve.url, { headers: { 'Accept-Encoding': 'gzip' } });
    const text = zlib.gunzipSync(served.body).toString('utf8');
    const check = runPromtool(['check', 'metrics'], text);
    assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}\n--- input\n${text}`);
    assert.equal(serve.output().stderr, '');
  });

  test('gzip when Accept-Encoding allows it, identity otherwise', async (t) => {
    const dir = fixtureDir(t);
    const serve = await startServe(t, ['--dir', dir, '--port', '0']);
    const plain = await request(serve.url);
    const gzipped = await request(serve.url, { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    assert.equal(gzipped.status, 200);
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
    assert.equal(Number(gzipped.headers['content-length']), gzipped.body.length);
    assert.match(String(gzipped.headers.vary), /Accept-Encoding/);
    assert.equal(zlib.gunzipSync(gzipped.body).toString('utf8'), plain.text);

    for (const refused of ['gzip;q=0', 'identity', 'br']) {
      const result = await request(serve.url, { headers: { 'Accept-Encoding': refused } });
      assert.equal(result.headers['content-encoding'], undefined, `Accept-Encoding: ${refused}`);
      assert.equal(result.text, plain.text);
    }
  });

  test('OpenMetrics when the Accept header asks for it, text 0.0.4 otherwise', async (t) => {
    const dir = fixtureDir(t);
    const serve = await startServe(t, ['--dir', dir, '--port', '0']);
    for (const accept of [PROMETHEUS_ACCEPT, 'application/openmetrics-text; version=1.0.0', 'text/plain;q=0.5, application/openmetrics-text']) {
      const result = await request(serve.url, { headers: { Accept: accept, 'Accept-Encoding': 'gzip' } });
      assert.equal(result.headers['content-type'], OPENMETRICS_CONTENT_TYPE, `Accept: ${accept}`);
      const text = zlib.gunzipSync(result.body).toString('utf8');
      assert.ok(text.endsWith('\n# EOF\n'), text);
      assert.match(text, /^# TYPE jobs counter\njobs_total 3\.25$/m);
    }
    for (const accept of ['text/plain;version=0.0.4', '*/*', 'application/openmetrics-text;q=0.2, text/plain', 'application/openmetrics-text;q=0']) {
      const result = await request(serve.url, { headers: { Accept: accept } });
      assert.equal(result.headers['content-type'], PROMETHEUS_CONTENT_TYPE, `Accept: ${accept}`);
      assert.ok(!result.text.includes('# EOF'));
    }
  });

  test('health at /healthz, 404 elsewhere, 405 for other methods, and --path moves the metrics', async (t) => {
    const dir = fixtureDir(t);
    const serve = await startServe(t, ['--dir', dir, '--port', '0', '--path', '/internal/metrics']);
    const base = new URL(serve.url).origin;
    assert.equal(serve.url, `${base}/internal/metrics`);

    const health = await request(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.text, 'ok\n');
    const headHealth = await request(`${base}/healthz`, { method: 'HEAD' });
    assert.equal(headHealth.status, 200);
    assert.equal(headHealth.body.length, 0);

    for (const missing of ['/', '/metrics', '/internal/metrics/x', '/healthzz']) {
      const result = await request(`${base}${missing}`);
      assert.equal(result.status, 404, missing);
      assert.match(result.text, /\/internal\/metrics/, 'the 404 says where the metrics are');
    }
    const withQuery = await request(`${serve.url}?x=1`);
    assert.equal(withQuery.status, 200, 'a query string does not change the path');

    const post = await request(serve.url, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const head = await request(serve.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.ok(Number(head.headers['content-length']) > 0);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} stops it cleanly with exit code 0, also with a keep-alive connection open`, async (t) => {
      const dir = fixtureDir(t);
      const serve = await startServe(t, ['--dir', dir, '--port', '0']);
      const agent = new http.Agent({ keepAlive: true });
      t.after(() => agent.destroy());
      assert.equal((await request(serve.url, { agent })).status, 200);
      assert.equal((await request(`${new URL(serve.url).origin}/healthz`, { agent })).status, 200);

      serve.child.kill(signal);
      const exit = await exitOf(serve.child);
      assert.deepEqual(exit, { code: 0, signal: null }, JSON.stringify(serve.output()));
      await eventually(() => assert.match(serve.output().stderr, new RegExp(`${signal}: stopping`)));
      await assert.rejects(request(serve.url), /ECONNREFUSED/, 'the port is closed');
    });
  }

  test('a directory that disappears gives 500 with a short message and a log line; the exporter keeps running', async (t) => {
    const temp = tempDir('prom-multiproc-exporter-gone-');
    t.after(temp.cleanup);
    const dir = path.join(temp.dir, 'metrics');
    fs.mkdirSync(dir);
    const serve = await startServe(t, ['--dir', dir, '--port', '0']);
    assert.equal((await request(serve.url)).status, 200);
    fs.rmSync(dir, { recursive: true });

    const failed = await request(serve.url);
    assert.equal(failed.status, 500);
    assert.match(failed.text, /^Internal Server Error: collecting metrics failed/);
    assert.ok(!failed.text.includes(dir), 'details stay in the log');
    await eventually(() => assert.ok(serve.output().stderr.includes(dir), `the log names the directory: ${serve.output().stderr}`));
    assert.equal((await request(`${new URL(serve.url).origin}/healthz`)).status, 200);

    fs.mkdirSync(dir);
    assert.equal((await request(serve.url)).status, 200, 'serves again once the directory is back');
  });

  test('a missing directory, a busy port and bad options fail with a message and a non-zero exit', async (t) => {
    const temp = tempDir('prom-multiproc-exporter-bad-');
    t.after(temp.cleanup);
    const missing = path.join(temp.dir, 'nope');
    const noDir = runCli(['serve', '--dir', missing, '--port', '0']);
    assert.equal(noDir.status, 2, noDir.stderr);
    assert.ok(noDir.stderr.includes(missing) && /does not exist/.test(noDir.stderr), noDir.stderr);
    assert.equal(noDir.stdout, '');

    const noneGiven = runCli(['serve', '--port', '0']);
    assert.equal(noneGiven.status, 2);
    assert.match(noneGiven.stderr, /--dir DIR or set PROMETHEUS_MULTIPROC_DIR/);

    const busy = http.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    t.after(() => busy.close());
    const port = String((busy.address() as { port: number }).port);
    const taken = runCli(['serve', '--dir', temp.dir, '--port', port]);
    assert.equal(taken.status, 1, taken.stderr);
    assert.ok(taken.stderr.includes(`cannot listen on 127.0.0.1:${port}`), taken.stderr);
    assert.doesNotMatch(taken.stderr, /\n\s+at /, 'a message, not a stack trace');

    for (const [args, message] of [
      [['--port', '70000'], /--port must be an integer from 0 to 65535/],
      [['--port', 'abc'], /--port must be an integer/],
      [['--path', 'metrics'], /--path must start with \//],
      [['--openmetrics'], /--openmetrics/],
    ] as const) {
      const result = runCli(['serve', '--dir', temp.dir, ...args]);
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  test('serve --help prints its own usage and exits 0', () => {
    const result = runCli(['serve', '--help']);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^Usage: prom-multiproc serve \[--dir DIR\] \[--host HOST\] \[--port PORT\] \[--path PATH\]/);
    assert.match(result.stdout, /SIGTERM/);
    assert.equal(result.stderr, '');
  });
});

describe('startExporter()', () => {
  test('serves in-process on port 0 and closes; it never loads the mmap addon', async (t) => {
    const exporter = await startExporter({ dir: fixtureDir(t), port: 0 });
    t.after(() => exporter.close());
    assert.equal(exporter.host, '127.0.0.1');
    assert.ok(exporter.port > 0);
    assert.equal(exporter.url, `http://127.0.0.1:${exporter.port}/metrics`);
    const parsed = parseExposition((await request(exporter.url)).text);
    assert.equal(parsed.byKey.get(seriesKey('jobs_total', {}))?.value, 3.25);
    // Reading never maps a file: the addon (and node-pre-gyp's argv parsing) stays out of the exporter.
    assert.deepEqual(
      Object.keys(require.cache).filter((file) => file.includes('mmap-io')),
      [],
    );
    await exporter.close();
    await assert.rejects(request(exporter.url), /ECONNREFUSED/);
  });

  test('refuses a missing directory with a ConfigError naming it', async (t) => {
    const temp = tempDir('prom-multiproc-exporter-api-');
    t.after(temp.cleanup);
    const missing = path.join(temp.dir, 'absent');
    await assert.rejects(startExporter({ dir: missing, port: 0 }), (err: unknown) => err instanceof ConfigError && err.message.includes(missing));
  });
});
