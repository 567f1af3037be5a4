// Running the examples as an operator would: real processes started from the
// command line, their output read line by line, stopped by pid with a signal,
// and checked to have left no process behind (every descendant, found in /proc).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from './http.js';

export const ROOT = path.join(__dirname, '..', '..');
export const EXAMPLES = path.join(ROOT, 'examples');

/** Generous: two busy cores start several Node processes at once. */
export const START_TIMEOUT_MS = 30_000;
export const STOP_TIMEOUT_MS = 15_000;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningProcess {
  child: ChildProcess;
  pid: number;
  /** Everything written to stdout and stderr so far, interleaved as received. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output, waiting for it up to `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<ExitStatus>;
  /**
   * Sends `signal` to the pid (to its process group when started with
   * `group`, as Ctrl-C in a terminal does), waits for the exit, and
   * SIGKILLs after STOP_TIMEOUT_MS. Resolves with the exit status.
   */
  stop(signal?: NodeJS.Signals): Promise<ExitStatus>;
}

/** The environment of the test runner without any multiprocess directory, plus `extra`. */
export function exampleEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PROMETHEUS_MULTIPROC_DIR;
  delete env.prometheus_multiproc_dir;
  // npm start run by the test must not inherit the runner's npm settings.
  for (const name of Object.keys(env)) if (name.startsWith('npm_')) delete env[name];
  return { ...env, ...extra };
}

function exited(child: ChildProcess): Promise<ExitStatus> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode as NodeJS.Signals | null });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/**
 * Starts `command` with piped output. With `group`, it leads a process group
 * of its own, so that stop() can signal it and all its descendants at once.
 */
export function startProcess(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; group?: boolean } = {},
): RunningProcess {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? exampleEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.group === true,
  });
  if (child.pid === undefined) throw new Error(`cannot start ${command}`);
  const pid = child.pid;
  let text = '';
  const waiters = new Set<() => void>();
  const append = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    for (const wake of waiters) wake();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exit = exited(child);
  void exit.then(() => {
    for (const wake of waiters) wake();
  });
  const describe = (): string => `${command} ${args.join(' ')} (pid ${pid})`;

  const waitFor = (pattern: RegExp, timeoutMs = START_TIMEOUT_MS): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${describe()}: no output matching ${pattern} within ${timeoutMs} ms; output so far:\n${text}`));
      }, timeoutMs);
      function check(): void {
        const match = pattern.exec(text);
        if (match) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(match);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          waiters.delete(check);
          reject(new Error(`${describe()} exited (code ${child.exitCode}, signal ${child.signalCode}) before printing ${pattern}; output:\n${text}`));
        }
      }
      waiters.add(check);
      check();
    });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(options.group ? -pid : pid, signal);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
    const timer = setTimeout(() => {
      try {
        process.kill(options.group ? -pid : pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }, STOP_TIMEOUT_MS);
    const status = await exit;
    clearTimeout(timer);
    return status;
  };

  return { child, pid, output: () => text, waitFor, exited: exit, stop };
}

interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, state: fields[0], ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** Every live descendant of `pid` (children, their children, ...), from /proc. */
export function descendants(pid: number): number[] {
  const stats = fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((stat): stat is ProcStat => stat !== undefined && stat.state !== 'Z');
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const stat of stats) {
      if (stat.ppid === parent) {
        found.push(stat.pid);
        queue.push(stat.pid);
      }
    }
  }
  return found;
}

/** Whether `pid` is a running process (a zombie, exited but not yet reaped, is not). */
export function isRunning(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** Waits until none of `pids` runs; SIGKILLs the survivors and fails if that takes longer than `timeoutMs`. */
export async function assertAllGone(pids: number[], what: string, timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = pids.filter(isRunning);
    if (running.length === 0) return;
    if (Date.now() > deadline) {
      for (const pid of running) killQuietly(pid);
      throw new Error(`${what}: processes ${running.join(', ')} still ran ${timeoutMs} ms after the stop (now killed)`);
    }
    await sleep(50);
  }
}

/** SIGKILL for clean-up after a failure: a process already gone is fine. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** A port of 127.0.0.1 that was free a moment ago (for servers that cannot report the port they bound). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface LoadResult {
  /** Responses by status code. */
  statuses: Map<number, number>;
  /** Bodies of the responses, for the worker pids the example's app prints. */
  bodies: string[];
}

/**
 * GETs every path of `paths` from `baseUrl`, `concurrency` at a time, each
 * on a new connection so that the cluster spreads them over its workers.
 * Any failed request fails the call: the totals checked later must be exact.
 */
export async function sendRequests(baseUrl: string, paths: string[], concurrency = 8): Promise<LoadResult> {
  const queue = [...paths];
  const statuses = new Map<number, number>();
  const bodies: string[] = [];
  const client = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const response = await request(new URL(next, baseUrl).href);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      bodies.push(response.text);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { statuses, bodies };
}

/** Each path `count` times, interleaved. */
export function repeatPaths(paths: string[], count: number): string[] {
  return Array.from({ length: count }, () => paths).flat();
}

export interface ClusterExample {
  process: RunningProcess;
  appUrl: string;
  metricsUrl: string;
}

/**
 * Starts examples/cluster/primary.js on `dir` with free ports and `workers`
 * workers, and resolves once it printed where the app and the metrics are.
 * `env` adds variables (LIVENESS_TIMEOUT_MS, COMPACT_THRESHOLD, ...).
 */
export async function startClusterExample(dir: string, workers: number, env: Record<string, string> = {}): Promise<ClusterExample> {
  const primary = startProcess(process.execPath, [path.join(EXAMPLES, 'cluster', 'primary.js')], {
    env: exampleEnv({ PROMETHEUS_MULTIPROC_DIR: dir, WORKERS: String(workers), PORT: '0', METRICS_PORT: '0', ...env }),
  });
  try {
    const [, metricsUrl] = await primary.waitFor(/^metrics: (\S+)$/m);
    const [, appUrl] = await primary.waitFor(/^app: (\S+)$/m);
    return { process: primary, appUrl, metricsUrl };
  } catch (err) {
    const workerPids = descendants(primary.pid);
    await primary.stop('SIGKILL');
    for (const pid of workerPids) killQuietly(pid);
    throw err;
  }
}

/** The pids the primary reported as listening workers, in order. */
export function listeningWorkers(output: string): number[] {
  return [...output.matchAll(/worker (\d+) listening on/g)].map((match) => Number(match[1]));
}

/** Runs a command to its end (asynchronously: the test's own servers keep answering meanwhile). */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<ExitStatus & { output: string }> {
  const running = startProcess(command, args, { env });
  const timer = setTimeout(() => void running.stop('SIGKILL'), timeoutMs);
  return running.exited.then((status) => {
    clearTimeout(timer);
    return { ...status, output: running.output() };
  });
}

/** Whether a TCP connection to host:port is accepted. */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
