import * as assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, test } from 'node:test';
import { tempDir } from './helpers/fixtures.js';
import { runFuzz } from './helpers/fuzz-run.js';
import { skipUnlessInstalled } from './helpers/programs.js';

// A seed of its own at every run (FUZZ_SEED=n repeats one), so that runs
// over time try ever other mutants; bench/fuzz.ts runs them for minutes.
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : randomInt(2 ** 32);
const MUTANTS = 3000;

describe('fuzzing the collector with mutants of real files', () => {
  test(`${MUTANTS} mutants beside good files: no throw or hang, the good files exact, every exposition valid`, async (t) => {
    t.diagnostic(`fuzz seed ${SEED} (repeat with FUZZ_SEED=${SEED})`);
    const work = tempDir('prom-multiproc-fuzz-');
    // Without promtool (a machine with only Node), every exposition still meets the strict parser.
    const promtoolMissing = skipUnlessInstalled('promtool');
    if (promtoolMissing) t.diagnostic(`the promtool sample is skipped: ${promtoolMissing}`);
    const report = await runFuzz({ seed: SEED, mutants: MUTANTS, promtoolEvery: promtoolMissing ? Infinity : 200, workDir: work.dir, stallSeconds: 60 });
    const { counts } = report;
    t.diagnostic(`fuzz counts ${JSON.stringify(counts)} in ${report.seconds.toFixed(1)} s`);
    const replay = 'replay one with: node --import tsx bench/fuzz.ts --replay <its seed>';
    assert.equal(report.hang, undefined, `seed ${SEED}: ${report.hang}; ${replay}`);
    assert.deepEqual(report.failures.slice(0, 3), [], `seed ${SEED}: ${counts.failures} of ${counts.mutants} mutants failed; ${replay}`);
    work.cleanup();
    assert.equal(counts.mutants, MUTANTS);
    assert.equal(counts.expositionsChecked, 2 * MUTANTS);
    // Mutants that only ever got skipped, or never, would leave half the collector untried.
    assert.ok(counts.skippedFiles > MUTANTS / 10 && counts.mergedFiles > MUTANTS / 10, JSON.stringify(counts));
    if (!promtoolMissing) assert.ok(counts.promtoolText >= 3 && counts.promtoolOpenMetrics >= 3, `promtool checked a sample in both formats: ${JSON.stringify(counts)}`);
  });
});
