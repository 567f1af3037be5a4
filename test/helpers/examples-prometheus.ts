// A real Prometheus server (Debian's `prometheus` package) for the tests:
// on 127.0.0.1, a 1 s scrape interval, its configuration and storage in a
// temporary directory; queried through its HTTP API. And promtool, which
// comes with it, to check an exposition in both formats.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from './http.js';
import { freePort, startProcess, type RunningProcess } from './examples-processes.js';
import { findProgram, installHint } from './programs.js';


/** A sample of an instant vector: labels and value. */
export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

/** A series of a range vector: labels and [unix seconds, value] pairs. */
export interface MatrixSeries {
  metric: Record<string, string>;
  values: Array<[number, number]>;
}

export interface PrometheusServer {
  process: RunningProcess;
  url: string;
  /** An instant query, evaluated now. */
  query(expr: string): Promise<VectorSample[]>;
  /** An instant query whose result is a range vector, e.g. `up[5m]`: the raw samples. */
  queryMatrix(expr: string): Promise<MatrixSeries[]>;
  /** /api/v1/query_exemplars over the last 10 minutes (needs --enable-feature=exemplar-storage). */
  queryExemplars(expr: string): Promise<Array<{ seriesLabels: Record<string, string>; exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }> }>>;
}

async function apiQuery(base: string, expr: string): Promise<{ resultType: string; result: unknown[] }> {
  const response = await request(`${base}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  const body = JSON.parse(response.text) as { status: string; error?: string; data: { resultType: string; result: unknown[] } };
  assert.equal(body.status, 'success', `query ${expr}: ${response.status} ${body.error ?? response.text}`);
  return body.data;
}

/**
 * Starts Prometheus scraping `target` (host:port) at /metrics every second,
 * with everything under `workDir`, and resolves once it is ready to answer
 * queries (its first scrape comes some seconds later: poll for it).
 */
export async function startPrometheus(workDir: string, target: string, job: string, flags: readonly string[] = []): Promise<PrometheusServer> {
  const prometheus = findProgram('prometheus');
  assert.ok(prometheus, `prometheus is not installed: ${installHint('prometheus')}`);
  const config = path.join(workDir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      `  - job_name: ${job}`,
      '    metrics_path: /metrics',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const server = startProcess('prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${path.join(workDir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
    ...flags,
  ]);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await request(`${url}/-/ready`).catch(() => undefined);
    if (ready?.status === 200) break;
    if (server.child.exitCode !== null || Date.now() > deadline) {
      await server.stop('SIGKILL');
      throw new Error(`prometheus did not become ready; output:\n${server.output()}`);
    }
    await sleep(50);
  }
  return {
    process: server,
    url,
    async query(expr) {
      const data = await apiQuery(url, expr);
      assert.equal(data.resultType, 'vector', `query ${expr}`);
      return (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
    },
    async queryExemplars(expr) {
      const now = Date.now() / 1000;
      const response = await request(`${url}/api/v1/query_exemplars?${new URLSearchParams({ query: expr, start: String(now - 600), end: String(now + 60) })}`);
      const body = JSON.parse(response.text) as { status: string; error?: string; data: Awaited<ReturnType<PrometheusServer['queryExemplars']>> };
      assert.equal(body.status, 'success', `query_exemplars ${expr}: ${response.status} ${body.error ?? response.text}`);
      return body.data;
    },
    async queryMatrix(expr) {
      const data = await apiQuery(url, expr);
      assert.equal(data.resultType, 'matrix', `query ${expr}`);
      return (data.result as Array<{ metric: Record<string, string>; values: Array<[number, string]> }>).map(({ metric, values }) => ({
        metric,
        values: values.map(([time, value]) => [time, Number(value)] as [number, number]),
      }));
    },
  };
}

/** Polls `read` until `accept` holds for its result; fails after `timeoutMs` with the last result. */
export async function pollUntil<T>(what: string, read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await sleep(200);
  }
}

export { assertOpenMetricsParses, runPromtool, type PromtoolResult } from './promtool.js';
