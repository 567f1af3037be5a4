import { runAsCommand } from './lib/processes.js';
// Fuzzing of the collector for as long as one likes: the mutants, checks and
// strict parser of test/fuzz.test.ts (test/helpers/fuzz.ts), without its
// limit of a few thousand mutants. See bench/README.md.
//
//   node --import tsx bench/fuzz.ts [--seconds 300] [--seed N] [--promtool-every 200] [--replay SEED]
import { randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runFuzz, type FuzzCounts, type FuzzOptions } from '../test/helpers/fuzz-run.js';
import { describeMachine, elapsedLabel, machineInfo, runInfo, writeResults, type RunInfo } from './lib/results.js';
import { markdownTable } from './lib/stats.js';

export interface FuzzResults extends RunInfo {
  benchmark: 'fuzz';
  options: Omit<FuzzOptions, 'workDir'>;
  counts: FuzzCounts;
  mutantsPerSecond: number;
  /** One message per failing mutant (its seed, mutations, what broke); the first 100. */
  failures: string[];
  hang?: string;
  /** Where failing mutants' bytes were kept, if any failed. */
  failuresDir?: string;
}

const USAGE = `Usage: node --import tsx bench/fuzz.ts [options]
  --seconds N          how long to run (default 60)
  --seed N             the run's seed (default random; printed)
  --promtool-every N   after every N mutants, the next merged one also goes through promtool (default 200)
  --stall-seconds N    a mutant taking longer counts as a hang (default 30)
  --replay SEED        run only the mutant of this seed (from a failure) and print what broke`;

export async function runFuzzProgram(argv: string[]): Promise<FuzzResults> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '60' },
      seed: { type: 'string' },
      'promtool-every': { type: 'string', default: '200' },
      'stall-seconds': { type: 'string', default: '30' },
      replay: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const seconds = Number(values.seconds);
  const promtoolEvery = Number(values['promtool-every']);
  const stallSeconds = Number(values['stall-seconds']);
  if (!(seconds > 0) || !(promtoolEvery >= 1) || !(stallSeconds > 0)) throw new Error('--seconds, --promtool-every and --stall-seconds need positive numbers');
  const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : randomInt(2 ** 32);
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const progress = (message: string): void => console.log(`[${elapsedLabel(started)}] ${message}`);
  const machine = machineInfo();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-multiproc-fuzz-'));
  const options: FuzzOptions =
    values.replay !== undefined
      ? { seed, only: Number(values.replay) >>> 0, promtoolEvery: 1, workDir, stallSeconds }
      : { seed, seconds, promtoolEvery, workDir, stallSeconds };
  progress(
    values.replay !== undefined
      ? `replaying the mutant of seed ${options.only}`
      : `fuzzing the collector for ${seconds} s with seed ${seed} (repeat with --seed ${seed}) on ${describeMachine(machine)}`,
  );
  let lastReport = performance.now();
  const report = await runFuzz(options, (counts) => {
    if (performance.now() - lastReport < 10_000) return;
    lastReport = performance.now();
    progress(`${counts.mutants} mutants, ${counts.skippedFiles} skipped, ${counts.promtoolText + counts.promtoolOpenMetrics} promtool checks, ${counts.failures} failures`);
  });
  const failed = report.failures.length > 0 || report.hang !== undefined;
  const { workDir: _temporary, ...recorded } = options;
  const output: FuzzResults = {
    benchmark: 'fuzz',
    ...runInfo('bench/fuzz.ts', argv, startedAt, started, machine),
    options: recorded,
    counts: report.counts,
    mutantsPerSecond: Math.round(report.counts.mutants / report.seconds),
    failures: report.failures.slice(0, 100),
    hang: report.hang,
    failuresDir: failed ? path.join(workDir, 'failures') : undefined,
  };
  for (const failure of report.failures.slice(0, 10)) console.log(`\nFAILURE ${failure}`);
  if (report.hang) console.log(`\nHANG ${report.hang}`);
  if (failed) console.log(`\nreplay one with: node --import tsx bench/fuzz.ts --replay <its seed>; the mutants' bytes are in ${output.failuresDir}`);
  else fs.rmSync(workDir, { recursive: true, force: true });
  if (values.replay === undefined) {
    const file = writeResults('fuzz', output);
    console.log(`\n${fuzzTable(output)}\n`);
    progress(`results: ${path.relative(process.cwd(), file)} and fuzz-latest.json`);
  } else {
    progress(failed ? 'the mutant fails' : 'the mutant passes every check');
  }
  if (failed) throw new Error(`${report.counts.failures} of ${report.counts.mutants} mutants failed${report.hang ? `, and ${report.hang}` : ''}`);
  return output;
}

export function fuzzTable(results: FuzzResults): string {
  const { counts } = results;
  const header = ['seed', 'seconds', 'mutants', 'mutants/s', 'files skipped', 'files merged', 'expositions checked', 'promtool (text)', 'promtool (OpenMetrics)', 'failures', 'hang'];
  const row = [
    String(results.options.seed),
    String(results.durationSeconds),
    String(counts.mutants),
    String(results.mutantsPerSecond),
    String(counts.skippedFiles),
    String(counts.mergedFiles),
    String(counts.expositionsChecked),
    String(counts.promtoolText),
    String(counts.promtoolOpenMetrics),
    String(counts.failures),
    results.hang ? 'yes' : 'no',
  ];
  return markdownTable(header, [row], [true, true, true, true, true, true, true, true, true, true, false]);
}

if (require.main === module) runAsCommand(runFuzzProgram);
