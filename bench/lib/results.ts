import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Where results go: bench/results, or BENCH_RESULTS_DIR (for trial runs that should not replace the published ones). */
export const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ? path.resolve(process.env.BENCH_RESULTS_DIR) : path.join(__dirname, '..', 'results');

export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  totalMemoryGb: number;
  os: string;
  node: string;
  promClient: string;
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const promClient = (require('prom-client/package.json') as { version: string }).version;
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    totalMemoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    promClient,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function describeMachine(machine: MachineInfo): string {
  return `${machine.cpus} x ${machine.cpuModel}, ${machine.totalMemoryGb} GB, ${machine.os}, Node ${machine.node}, prom-client ${machine.promClient}`;
}

/** What every benchmark's results say about the run itself. */
export interface RunInfo {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  command: string;
  machine: MachineInfo;
}

/** The run record of `script` run with `argv`, started at `startedAt` (ISO time) and `startedMs` (performance.now()); finished now. */
export function runInfo(script: string, argv: readonly string[], startedAt: string, startedMs: number, machine: MachineInfo): RunInfo {
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    durationSeconds: Math.round((performance.now() - startedMs) / 1000),
    command: `node --import tsx ${script} ${argv.join(' ')}`.trim(),
    machine,
  };
}

/** Writes `<name>-<timestamp>.json` and `<name>-latest.json`; returns the timestamped path. */
export function writeResults(name: string, data: unknown): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const text = `${JSON.stringify(data, null, 2)}\n`;
  const file = path.join(RESULTS_DIR, `${name}-${stamp}.json`);
  // Written under a temporary name first so that a reader never sees half a file.
  for (const target of [file, path.join(RESULTS_DIR, `${name}-latest.json`)]) {
    fs.writeFileSync(`${target}.tmp`, text);
    fs.renameSync(`${target}.tmp`, target);
  }
  return file;
}

export function elapsedLabel(startMs: number): string {
  const s = (performance.now() - startMs) / 1000;
  return `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}
