// Every process the benchmarks start goes through here, so that all of them
// (and the cluster workers their children report) are killed by pid on
// success, on error, and on Ctrl-C, and every temporary directory is removed.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const children = new Set<ChildProcess>();
/** Grandchildren (cluster workers) reported by a child; killed by pid if their parent could not. */
const reportedPids = new Set<number>();
const tempDirs = new Set<string>();
let cleanupInstalled = false;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function killEverything(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  for (const pid of reportedPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  reportedPids.clear();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

export function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killEverything);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping every benchmark process`);
      killEverything();
      process.exit(130);
    });
  }
}

export function makeTempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `prom-multiproc-bench-${label}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export function trackReportedPids(pids: readonly number[]): void {
  for (const pid of pids) reportedPids.add(pid);
}

/** Kills the reported pids that are still alive (their parent normally stopped them already). */
export function releaseReportedPids(pids: readonly number[]): void {
  for (const pid of pids) {
    if (reportedPids.delete(pid) && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
}

export interface ForkOptions {
  env?: NodeJS.ProcessEnv;
  exposeGc?: boolean;
}

/**
 * The flags that let a child run TypeScript: tsx's CommonJS hook only. The
 * package is CommonJS, and the hook costs a third of the start-up CPU and
 * 30 MB less per process than `--import tsx` (whose ESM loader thread every
 * one of 64 writers would carry).
 */
export const TS_EXEC_ARGV = ['--require', 'tsx/cjs'];

/** Forks a TypeScript script under tsx with an IPC channel. */
export function forkTs(script: string, args: readonly string[], options: ForkOptions = {}): ChildProcess {
  installCleanup();
  const execArgv = [...(options.exposeGc ? ['--expose-gc'] : []), ...TS_EXEC_ARGV];
  const child = fork(script, [...args], {
    execArgv,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

interface Message {
  type?: string;
  message?: string;
}

/**
 * The next message of `type` from `child`; rejects on its {type: 'error'}
 * message, its exit, or when it has sent nothing at all for `idleTimeoutMs`
 * (children send {type: 'heartbeat'} while they make progress, so a slow
 * machine is not mistaken for a hung child).
 */
export function nextMessage<T extends Message>(child: ChildProcess, type: string, idleTimeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${what}: no '${type}' and no sign of progress for ${Math.round(idleTimeoutMs / 1000)} s`));
      }, idleTimeoutMs);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: Message): void => {
      if (message?.type === type) {
        cleanup();
        resolve(message as T);
      } else if (message?.type === 'error') {
        cleanup();
        reject(new Error(`${what} failed: ${message.message}`));
      } else arm();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`${what} exited with code ${code}, signal ${signal} before sending '${type}'`));
    };
    arm();
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Spawns a non-Node program with its stdout captured; tracked like the forked ones. */
export function spawnTracked(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  installCleanup();
  const child = spawn(command, [...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Runs a benchmark as a command: exit 0 when it resolves, 1 with its stack when it fails; every child killed either way. */
export function runAsCommand(benchmark: (argv: string[]) => Promise<unknown>): void {
  benchmark(process.argv.slice(2)).then(
    () => {
      killEverything();
      process.exit(0);
    },
    (err: unknown) => {
      console.error((err as Error).stack ?? String(err));
      killEverything();
      process.exit(1);
    },
  );
}
