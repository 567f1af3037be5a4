// Compares two builds of this library on one fixed directory, in one run:
// a fresh process per build scrapes the directory cold, then warm, and the
// builds alternate (A B A B ...) so that the machine's load falls on both
// alike. Each tree is a checkout with a built dist/ (npx tsc -p tsconfig.json),
// for example a `git worktree` of an older commit beside this one. The
// directory is only read (compaction off); make one with bench/make-dir.ts.
//
//   node --import tsx bench/versions.ts --before TREE --after TREE --dir DIR [--runs 9] [--warm 50]
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine, machineInfo, runInfo, writeResults } from './lib/results.js';

interface Sample {
  coldMs: number;
  warmP50Ms: number;
  bytes: number;
  sha1: string;
  rssMb: number;
}

/** Runs in the child: one build's registry on the directory; prints one Sample as JSON. */
const CHILD = `
const { createHash } = require('node:crypto');
const [lib, dir, warm] = process.argv.slice(1);
const { MultiprocessRegistry } = require(lib);
const registry = new MultiprocessRegistry({ dir, compactThreshold: 0, logger: { warn() {} } });
(async () => {
  let started = process.hrtime.bigint();
  const first = await registry.metrics();
  const coldMs = Number(process.hrtime.bigint() - started) / 1e6;
  const times = [];
  for (let i = 0; i < Number(warm); i++) {
    started = process.hrtime.bigint();
    await registry.metrics();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  const sample = {
    coldMs, warmP50Ms: times[times.length >> 1] ?? NaN, bytes: Buffer.byteLength(first),
    sha1: createHash('sha1').update(first).digest('hex'), rssMb: process.memoryUsage().rss / 1048576,
  };
  process.stdout.write(JSON.stringify(sample));
})();
`;

function sampleOf(tree: string, dir: string, warm: number): Sample {
  const run = spawnSync(process.execPath, ['-e', CHILD, path.join(path.resolve(tree), 'dist', 'index.js'), path.resolve(dir), String(warm)], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (run.status !== 0) throw new Error(`${tree}: exit ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Sample;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { values } = parseArgs({
    args: argv,
    options: { before: { type: 'string' }, after: { type: 'string' }, dir: { type: 'string' }, runs: { type: 'string', default: '9' }, warm: { type: 'string', default: '50' } },
  });
  if (!values.before || !values.after || !values.dir) {
    throw new Error('usage: node --import tsx bench/versions.ts --before TREE --after TREE --dir DIR [--runs 9] [--warm 50]');
  }
  const runs = Number(values.runs);
  const warm = Number(values.warm);
  const startedAt = new Date().toISOString();
  const startedMs = performance.now();
  const machine = machineInfo();
  console.log(`comparing ${values.before} and ${values.after} on ${values.dir}, ${runs} alternating runs, on ${describeMachine(machine)}`);
  const samples: Record<'before' | 'after', Sample[]> = { before: [], after: [] };
  for (let i = 0; i < runs; i++) {
    samples.before.push(sampleOf(values.before, values.dir, warm));
    samples.after.push(sampleOf(values.after, values.dir, warm));
  }
  const outputs = new Set([...samples.before, ...samples.after].map((s) => s.sha1));
  const rows = (['coldMs', 'warmP50Ms', 'rssMb'] as const).map((key) => {
    const before = median(samples.before.map((s) => s[key]));
    const after = median(samples.after.map((s) => s[key]));
    // Paired: the machine's state at each moment weighs on both runs of a pair alike.
    const paired = median(samples.before.map((s, i) => samples.after[i][key] / s[key]));
    return { measure: key, before, after, ratio: after / before, pairedRatio: paired };
  });
  console.log('\n| measure | before | after | after / before | paired median |\n|---|--:|--:|--:|--:|');
  for (const row of rows) console.log(`| ${row.measure} | ${row.before.toFixed(1)} | ${row.after.toFixed(1)} | ${row.ratio.toFixed(3)} | ${row.pairedRatio.toFixed(3)} |`);
  console.log(outputs.size === 1 ? '\nexpositions: identical in every run' : `\nexpositions DIFFER: ${outputs.size} distinct outputs`);
  const file = writeResults('versions', {
    ...runInfo('bench/versions.ts', argv, startedAt, startedMs, machine),
    options: { before: values.before, after: values.after, dir: values.dir, runs, warm },
    identicalExpositions: outputs.size === 1,
    rows,
    samples,
  });
  console.log(`results: ${file}`);
  if (outputs.size !== 1) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
