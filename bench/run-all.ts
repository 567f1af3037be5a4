// `npm run bench`: the hot-path benchmark, the scrape benchmark at its default
// sizes, the plot, then the churn benchmark at a tenth of its default size
// (CHURN_ARGS; its full size alone takes about half an hour on 2 cores), each
// in its own process. Arguments are passed to the scrape benchmark (for
// example `npm run bench -- --workers 1,8 --series 1000`).
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { elapsedLabel } from './lib/results.js';

/** About 3 minutes on a quiet 2-core machine (~7 short-lived workers a second). */
const CHURN_ARGS = ['--workers', '1000'];

const started = performance.now();
let current: ChildProcess | undefined;

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    // The step stops its own processes on this signal; then we stop too.
    current?.kill(signal);
    process.exitCode = 130;
  });
}

function step(name: string, script: string, args: readonly string[]): Promise<void> {
  console.log(`\n[${elapsedLabel(started)}] === ${name} ===`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, script), ...args], { stdio: 'inherit' });
    current = child;
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      current = undefined;
      if (code === 0) resolve();
      else reject(new Error(`${name} exited with code ${code}, signal ${signal}`));
    });
  });
}

async function main(): Promise<void> {
  const scrapeArgs = process.argv.slice(2);
  await step('hot path (bench/hotpath.ts)', 'hotpath.ts', []);
  await step(`scrape (bench/scrape.ts ${scrapeArgs.join(' ')})`.replace(' )', ')'), 'scrape.ts', scrapeArgs);
  await step('plot (bench/plot.ts)', 'plot.ts', []);
  await step(`churn (bench/churn.ts ${CHURN_ARGS.join(' ')})`, 'churn.ts', CHURN_ARGS);
  console.log(`\n[${elapsedLabel(started)}] done: bench/results/{hotpath,scrape,churn}-latest.json, bench/results/scrape-latency.svg`);
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(process.exitCode ?? 1);
});
