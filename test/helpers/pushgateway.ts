// The Pushgateway tests' plumbing: a real Pushgateway (Debian's
// prometheus-pushgateway) on a free port of 127.0.0.1, optionally with TLS and
// basic auth, reading back what it holds; the forked writers and pushers of
// push-worker.ts.
import * as assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exitOf, stopChild } from './concurrency-checks.js';
import { freePort, startProcess, type RunningProcess } from './examples-processes.js';
import { findProgram, installHint } from './programs.js';
import type { PushOutcome, PushSpec, WriteSpec } from './push-worker.js';

export const TLS_FIXTURES = path.join(__dirname, '..', 'fixtures', 'tls');
export const TLS_CA = fs.readFileSync(path.join(TLS_FIXTURES, 'cert.pem'));

export interface GetResult {
  status: number;
  text: string;
}

/** A GET over http or https (`ca` for ours), `auth` as user:password. */
export function get(url: string, options: { ca?: Buffer; auth?: string } = {}): Promise<GetResult> {
  const transport = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.get(url, { agent: false, ca: options.ca, auth: options.auth }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** One group of /api/v1/metrics: its grouping labels, and its families by name. */
export interface ApiGroup {
  labels: Record<string, string>;
  last_push_successful: boolean;
  families: Record<string, ApiFamily>;
}

export interface ApiFamily {
  type: string;
  help?: string;
  metrics: Array<{ labels: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string; sum?: string }>;
}

export interface PushgatewayServer {
  process: RunningProcess;
  /** http://127.0.0.1:PORT (https:// with TLS). */
  url: string;
  /** The text of its /metrics. */
  metrics(): Promise<string>;
  /** Its /api/v1/metrics, one entry per group. */
  groups(): Promise<ApiGroup[]>;
  /** SIGSTOP: it accepts connections (the kernel does) but answers nothing until resume(). */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export interface PushgatewayOptions {
  /** Serve https with test/fixtures/tls. */
  tls?: boolean;
  /** user -> bcrypt hash: basic auth required. */
  basicAuthUsers?: Record<string, string>;
  /** For the requests of metrics() and groups(). */
  auth?: string;
}

/** Starts prometheus-pushgateway (metrics in memory only) and resolves once /-/ready answers 200. */
export async function startPushgateway(workDir: string, options: PushgatewayOptions = {}): Promise<PushgatewayServer> {
  const program = findProgram('prometheus-pushgateway');
  assert.ok(program, `prometheus-pushgateway is not installed: ${installHint('prometheus-pushgateway')}`);
  const port = await freePort();
  const args = [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--log.level=warn'];
  if (options.tls || options.basicAuthUsers) {
    const config = path.join(workDir, `web-config-${port}.yml`);
    const lines: string[] = [];
    if (options.tls) lines.push('tls_server_config:', `  cert_file: ${path.join(TLS_FIXTURES, 'cert.pem')}`, `  key_file: ${path.join(TLS_FIXTURES, 'key.pem')}`);
    if (options.basicAuthUsers) {
      lines.push('basic_auth_users:');
      for (const [user, hash] of Object.entries(options.basicAuthUsers)) lines.push(`  ${user}: ${JSON.stringify(hash)}`);
    }
    fs.writeFileSync(config, `${lines.join('\n')}\n`);
    args.push(`--web.config.file=${config}`);
  }
  const server = startProcess(program, args);
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const read = { ca: options.tls ? TLS_CA : undefined, auth: options.auth };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await get(`${url}/-/ready`, read).catch(() => undefined);
    if (ready?.status === 200) break;
    if (server.child.exitCode !== null || Date.now() > deadline) {
      await server.stop('SIGKILL');
      throw new Error(`prometheus-pushgateway did not become ready; output:\n${server.output()}`);
    }
    await sleep(50);
  }
  const getOk = async (what: string): Promise<string> => {
    const result = await get(`${url}${what}`, read);
    assert.equal(result.status, 200, `GET ${what}: ${result.text}`);
    return result.text;
  };
  return {
    process: server,
    url,
    metrics: () => getOk('/metrics'),
    async groups() {
      const answer = JSON.parse(await getOk('/api/v1/metrics')) as { status: string; data: Array<Record<string, unknown>> };
      assert.equal(answer.status, 'success');
      return answer.data.map((group) => {
        const { labels, last_push_successful, ...families } = group;
        return { labels: labels as Record<string, string>, last_push_successful: last_push_successful as boolean, families: families as Record<string, ApiFamily> };
      });
    },
    pause: () => process.kill(server.pid, 'SIGSTOP'),
    resume: () => process.kill(server.pid, 'SIGCONT'),
    async stop() {
      try {
        process.kill(server.pid, 'SIGCONT');
      } catch {
        // gone already
      }
      const status = await server.stop('SIGTERM');
      assert.ok(status.code === 0 || status.signal === 'SIGTERM', `prometheus-pushgateway stopped with ${JSON.stringify(status)}:\n${server.output()}`);
    },
  };
}

/** The sample lines of /metrics whose labels include job="<job>", as the Pushgateway prints them (push_time_seconds, which changes, left out). */
export function groupLines(exposition: string, job: string): string[] {
  const label = `job=${JSON.stringify(job)}`;
  return exposition.split('\n').filter((line) => !line.startsWith('#') && line.includes(label) && !line.startsWith('push_time_seconds{'));
}

/** The group whose grouping labels are exactly `labels`, if any. */
export function findGroup(groups: ApiGroup[], labels: Record<string, string>): ApiGroup | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return groups.find((group) => JSON.stringify(Object.entries(group.labels).sort()) === wanted);
}

const PUSH_WORKER = path.join(__dirname, 'push-worker.ts');

function forkWorker(dir: string, args: string[]): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir };
  delete env.prometheus_multiproc_dir;
  return fork(PUSH_WORKER, args, { execArgv: ['--import', 'tsx'], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function nextMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null): void => reject(new Error(`${what}: the process exited (${code}, ${signal}) first`));
    child.once('exit', onExit);
    child.once('message', (message: T) => {
      child.off('exit', onExit);
      resolve(message);
    });
  });
}

export interface Writer {
  child: ChildProcess;
  pid: number;
  /** More increments of `jobs`; resolves once they are in the files. */
  add(jobs: Record<string, number>): Promise<void>;
  /** Disconnects (the writer exits 0) and resolves with how it ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Forks a writer of `spec` into `dir` and resolves once its values are in the files. */
export async function forkWriter(dir: string, spec: WriteSpec): Promise<Writer> {
  const child = forkWorker(dir, ['write', JSON.stringify(spec)]);
  try {
    const { pid } = await nextMessage<{ pid: number }>(child, 'a writer');
    return {
      child,
      pid,
      async add(jobs) {
        const written = nextMessage(child, `writer ${pid} adding`);
        child.send({ type: 'add', jobs });
        await written;
      },
      async stop() {
        if (child.connected) child.disconnect();
        const timer = setTimeout(() => stopChild(child), 15_000);
        const status = await exitOf(child);
        clearTimeout(timer);
        return status;
      },
      kill() {
        child.kill('SIGKILL');
        return exitOf(child);
      },
    };
  } catch (err) {
    stopChild(child);
    throw err;
  }
}

/** Runs one Pushgateway call in a process of its own on `dir` and resolves with its outcome. */
export async function pushFromProcess(dir: string, spec: PushSpec): Promise<PushOutcome> {
  const child = forkWorker(dir, ['push', JSON.stringify(spec)]);
  const timer = setTimeout(() => stopChild(child), 30_000);
  try {
    const outcome = await nextMessage<PushOutcome>(child, 'a pusher');
    assert.deepEqual(await exitOf(child), { code: 0, signal: null }, 'the pusher exits 0');
    return outcome;
  } finally {
    clearTimeout(timer);
    stopChild(child);
  }
}
