// Plain HTTP plumbing for the tests of the exporter, the handlers and the
// middleware: real requests over 127.0.0.1, raw bytes (no automatic gzip
// decoding), and polling for values that a server records after it answered.
import { fork, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body exactly as received (still gzipped if it was sent so). */
  body: Buffer;
  text: string;
}

/** One request to `url`; an agentless request closes its connection afterwards. */
export function request(url: string, options: { method?: string; headers?: Record<string, string>; agent?: http.Agent } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Listens on 127.0.0.1 with a free port and resolves with the base URL. */
export function listen(server: http.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Polls `check` until it returns without throwing: servers record a request's
 * metrics when the response finishes, which the client may see a moment
 * before. Rethrows the last failure after `timeoutMs` (generous: the machine is loaded).
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(20);
    }
  }
}

export interface HttpWorker {
  child: ChildProcess;
  pid: number;
  url: string;
  /** Disconnects, which makes the worker close its server and exit 0; resolves with how it ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const HTTP_WORKER = path.join(__dirname, 'http-worker.ts');

/**
 * Forks test/helpers/http-worker.ts serving `framework` on a free port of
 * 127.0.0.1, writing its metrics into `dir`. The caller stops it
 * (t.after(() => worker.stop())); a worker that failed to start is killed.
 */
export function forkHttpWorker(framework: 'express' | 'fastify' | 'node', dir: string): Promise<HttpWorker> {
  const env: NodeJS.ProcessEnv = { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir };
  delete env.prometheus_multiproc_dir;
  const child = fork(HTTP_WORKER, [framework], { execArgv: ['--import', 'tsx'], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`http worker (${framework}) exited with ${code} before listening`));
    child.once('exit', onExit);
    child.once('message', (message: { type: string; port: number; pid: number }) => {
      child.off('exit', onExit);
      resolve({
        child,
        pid: message.pid,
        url: `http://127.0.0.1:${message.port}`,
        stop: async () => {
          if (child.connected) child.disconnect();
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          const result = await exited;
          clearTimeout(timer);
          return result;
        },
      });
    });
  });
}
