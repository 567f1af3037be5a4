import { runAsCommand } from './lib/processes.js';
// Start-up benchmark: what requiring the library and using a first metric
// cost a fresh process, against prom-client, in one run. Every sample is a
// new `node` process; the systems alternate (their order rotates every
// round) so that the machine's noise falls on all of them alike. See
// bench/README.md.
//
//   node --import tsx bench/startup.ts [--runs 40] [--baseline TREE] [--skip-build]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { makeTempDir, removeTempDir } from './lib/processes.js';
import { describeMachine, elapsedLabel, machineInfo, runInfo, writeResults, type RunInfo } from './lib/results.js';
import { formatMs, formatRatio, markdownTable, median } from './lib/stats.js';

/**
 * Runs in the child (plain node, CommonJS, from a file: `node -e` would
 * load node:crypto before the script, hiding what a library pays for it):
 * requires one library, optionally uses a first metric, and prints what it
 * timed as JSON. `sinceOrigin` is how long node itself took before the
 * script ran.
 */
const CHILD = `
const started = process.hrtime.bigint();
const sinceOrigin = performance.now();
const [kind, lib, use] = process.argv.slice(2);
const ms = (from, to) => Number(to - from) / 1e6;
const loaded = kind === 'none' ? undefined : require(lib);
const required = process.hrtime.bigint();
const finish = (bytes) => {
  const done = process.hrtime.bigint();
  process.stdout.write(JSON.stringify({
    requireMs: ms(started, required), useMs: ms(required, done), totalMs: ms(started, done), sinceOriginMs: sinceOrigin,
    bytes, modules: Object.keys(require.cache).length,
  }));
};
if (use !== 'use') finish(0);
else if (kind === 'prom-client') {
  const counter = new loaded.Counter({ name: 'startup_requests_total', help: 'Requests.' });
  counter.inc();
  loaded.register.metrics().then((text) => finish(Buffer.byteLength(text)));
} else {
  const counter = new loaded.Counter({ name: 'startup_requests_total', help: 'Requests.' });
  counter.inc();
  new loaded.MultiprocessRegistry().metrics().then((text) => {
    if (!text.includes('startup_requests_total 1')) throw new Error('the exposition lacks the counter: ' + text);
    finish(Buffer.byteLength(text));
  });
}
`;

interface System {
  id: string;
  description: string;
  kind: 'none' | 'prom-client' | 'ours';
  /** What the child requires: a resolved path. */
  lib: string;
  use: boolean;
  /** Run with PROMETHEUS_MULTIPROC_DIR set to a fresh temporary directory. */
  withDir: boolean;
  /** The tree whose dist/ is measured (ours only). */
  tree?: string;
}

interface Sample {
  requireMs: number;
  useMs: number;
  totalMs: number;
  sinceOriginMs: number;
  /** Wall time of the whole process as the parent saw it: spawn to exit. */
  processMs: number;
  bytes: number;
  modules: number;
}

export interface SystemResult {
  id: string;
  description: string;
  tree?: string;
  samples: Sample[];
  medians: { requireMs: number; useMs: number; totalMs: number; processMs: number; modules: number };
  /** This system's require (+ first use) over prom-client's bare require, median of the per-round ratios. */
  totalOverPromClientRequire: number;
  processOverPromClientRequire: number;
}

export interface StartupResults extends RunInfo {
  benchmark: 'startup';
  options: { runs: number; warmup: number; baseline?: string; tree: string };
  systems: SystemResult[];
  target: { text: string; met: boolean; worst: string; ratio: number };
}

const USAGE = `Usage: node --import tsx bench/startup.ts [options]
  --runs N           rounds; every round starts one process per system (default 40)
  --warmup N         rounds run first and not counted (default 3)
  --baseline TREE    also measure another checkout's dist/ (e.g. an older commit), alternating with this one
  --skip-build       measure this checkout's dist/ as it is (default: build it first with npm run build)`;

function systemsFor(tree: string, label: string): System[] {
  const lib = path.join(tree, 'dist', 'index.js');
  if (!fs.existsSync(lib)) throw new Error(`${lib} does not exist: build that tree first (npm run build)`);
  return [
    { id: `${label} require`, description: `require('prom-multiproc') from ${lib}`, kind: 'ours', lib, use: false, withDir: false, tree },
    {
      id: `${label} + first use`,
      description: 'the same, then new Counter + inc() + new MultiprocessRegistry().metrics(), no directory',
      kind: 'ours',
      lib,
      use: true,
      withDir: false,
      tree,
    },
    {
      id: `${label} + first use, dir`,
      description: 'the same with PROMETHEUS_MULTIPROC_DIR a fresh empty directory (maps a file: loads the mmap addon)',
      kind: 'ours',
      lib,
      use: true,
      withDir: true,
      tree,
    },
  ];
}

function runOnce(system: System, childScript: string): Sample {
  const dir = system.withDir ? makeTempDir('startup') : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.PROMETHEUS_MULTIPROC_DIR;
  delete env.NODE_OPTIONS;
  if (dir) env.PROMETHEUS_MULTIPROC_DIR = dir;
  try {
    const started = performance.now();
    const run = spawnSync(process.execPath, [childScript, system.kind, system.lib, system.use ? 'use' : 'require'], { encoding: 'utf8', env, timeout: 60_000 });
    const processMs = performance.now() - started;
    if (run.status !== 0) throw new Error(`${system.id}: exit ${run.status} ${run.signal ?? ''}: ${run.stderr}`);
    return { ...(JSON.parse(run.stdout) as Omit<Sample, 'processMs'>), processMs };
  } finally {
    if (dir) removeTempDir(dir);
  }
}

/** `npm run build` of a tree: tsc, then the bundle of the entry (src/bundle.mjs), what a user's install runs. */
function build(tree: string): void {
  const run = spawnSync('npm', ['run', 'build'], { cwd: tree, encoding: 'utf8', stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`npm run build in ${tree} failed`);
}

export async function runStartupBenchmark(argv: string[]): Promise<StartupResults> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '40' },
      warmup: { type: 'string', default: '3' },
      baseline: { type: 'string' },
      'skip-build': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const runs = Number(values.runs);
  const warmup = Number(values.warmup);
  if (!(runs >= 1) || !(warmup >= 0)) throw new Error('--runs needs a positive number and --warmup a non-negative one');
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const progress = (message: string): void => console.log(`[${elapsedLabel(started)}] ${message}`);
  const tree = path.resolve(__dirname, '..');
  if (!values['skip-build']) {
    progress('building dist/ (npm run build; --skip-build measures it as it is)');
    build(tree);
  }
  const promClient = require.resolve('prom-client');
  const systems: System[] = [
    { id: 'node alone', description: 'an empty script: what node itself costs', kind: 'none', lib: '', use: false, withDir: false },
    { id: 'prom-client require', description: `require('prom-client') (${machineInfo().promClient})`, kind: 'prom-client', lib: promClient, use: false, withDir: false },
    {
      id: 'prom-client + first use',
      description: 'the same, then new Counter + inc() + register.metrics()',
      kind: 'prom-client',
      lib: promClient,
      use: true,
      withDir: false,
    },
    ...(values.baseline ? systemsFor(path.resolve(values.baseline), 'baseline') : []),
    ...systemsFor(tree, 'ours'),
  ];
  const childScript = path.join(makeTempDir('startup-child'), 'child.js');
  fs.writeFileSync(childScript, CHILD);
  const machine = machineInfo();
  progress(`start-up benchmark on ${describeMachine(machine)}: ${systems.length} systems, ${warmup} + ${runs} rounds`);

  const samples = new Map<string, Sample[]>(systems.map((s) => [s.id, []]));
  for (let round = -warmup; round < runs; round++) {
    // Rotating the order: every system goes first, last and in between equally often.
    const offset = ((round % systems.length) + systems.length) % systems.length;
    for (let i = 0; i < systems.length; i++) {
      const system = systems[(i + offset) % systems.length];
      const sample = runOnce(system, childScript);
      if (round >= 0) samples.get(system.id)!.push(sample);
    }
    if (round >= 0 && (round + 1) % 10 === 0) progress(`${round + 1} / ${runs} rounds`);
  }

  const reference = samples.get('prom-client require')!;
  const results: SystemResult[] = systems.map((system) => {
    const own = samples.get(system.id)!;
    return {
      id: system.id,
      description: system.description,
      ...(system.tree ? { tree: system.tree } : {}),
      samples: own,
      medians: {
        requireMs: median(own.map((s) => s.requireMs)),
        useMs: median(own.map((s) => s.useMs)),
        totalMs: median(own.map((s) => s.totalMs)),
        processMs: median(own.map((s) => s.processMs)),
        modules: median(own.map((s) => s.modules)),
      },
      // Paired by round: both processes of a pair ran a moment apart, under the same load.
      totalOverPromClientRequire: median(own.map((s, i) => s.totalMs / reference[i].requireMs)),
      processOverPromClientRequire: median(own.map((s, i) => s.processMs / reference[i].processMs)),
    };
  });
  const ours = results.filter((r) => r.id.startsWith('ours +'));
  const worst = ours.reduce((a, b) => (b.totalOverPromClientRequire > a.totalOverPromClientRequire ? b : a));
  const output: StartupResults = {
    benchmark: 'startup',
    ...runInfo('bench/startup.ts', argv, startedAt, started, machine),
    options: { runs, warmup, tree, ...(values.baseline ? { baseline: path.resolve(values.baseline) } : {}) },
    systems: results,
    target: {
      text: "require('prom-multiproc') + first metric use <= require('prom-client'), in both modes",
      met: worst.totalOverPromClientRequire <= 1,
      worst: worst.id,
      ratio: worst.totalOverPromClientRequire,
    },
  };
  const file = writeResults('startup', output);
  console.log(`\n${startupTable(output)}\n`);
  progress(`results: ${path.relative(process.cwd(), file)} and startup-latest.json`);
  return output;
}

export function startupTable(results: StartupResults): string {
  const header = ['system', 'require ms', 'first use ms', 'require + use ms', '/ prom-client require', 'process ms', '/ prom-client process', 'modules'];
  const rows = results.systems.map((r) => [
    r.id,
    formatMs(r.medians.requireMs),
    r.id === 'node alone' || r.id.endsWith('require') ? '' : formatMs(r.medians.useMs),
    formatMs(r.medians.totalMs),
    formatRatio(r.totalOverPromClientRequire),
    formatMs(r.medians.processMs),
    formatRatio(r.processOverPromClientRequire),
    String(r.medians.modules),
  ]);
  const notes = [
    '',
    `Medians of ${results.options.runs} rounds (after ${results.options.warmup} uncounted), one fresh node process per system and round, the order rotating.`,
    'require / first use: timed inside the child with process.hrtime; process: spawn to exit, as the parent saw it (node itself included).',
    "Ratios: median over the rounds of this system's figure / prom-client's bare require (its process) in the same round.",
    'modules: entries in require.cache when the child finished (node built-ins not counted).',
    ...results.systems.map((r) => `${r.id}: ${r.description}`),
    '',
    `Target: ${results.target.text}: ${results.target.met ? 'met' : 'NOT met'} (worst: ${results.target.worst}, ${formatRatio(results.target.ratio)}).`,
  ];
  return `${markdownTable(header, rows, [false, true, true, true, true, true, true, true])}\n${notes.join('\n')}`;
}

if (require.main === module) runAsCommand(runStartupBenchmark);
