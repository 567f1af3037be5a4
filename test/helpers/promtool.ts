import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installHint, skipUnlessInstalled } from './programs.js';


let promtoolNoted = false;

export interface PromtoolResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runPromtool(args: string[], input?: string): PromtoolResult {
  const result = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') assert.fail(`promtool is not installed: ${installHint('promtool')}`);
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function sampleLines(exposition: string): string[] {
  return exposition.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * `promtool check metrics` reads only the text format 0.0.4 (see
 * test/cli.test.ts), so OpenMetrics goes through Prometheus's OpenMetrics
 * parser instead: `promtool tsdb create-blocks-from openmetrics`, which needs
 * a timestamp on every sample and the final # EOF. Asserts that it parses
 * every sample line. A test that makes this check among others runs without
 * promtool too: the check is then left out, said once in the output (and
 * under CI=true the missing program fails the test, as skipUnlessInstalled).
 */
export function assertOpenMetricsParses(exposition: string, workDir: string): void {
  assert.ok(exposition.endsWith('\n# EOF\n'), 'OpenMetrics ends with # EOF');
  const missing = skipUnlessInstalled('promtool');
  if (missing) {
    if (!promtoolNoted) console.log(`# promtool checks of OpenMetrics left out: ${missing}`);
    promtoolNoted = true;
    return;
  }
  const timestamped = exposition
    .split('\n')
    .map((line) => {
      if (line === '' || line.startsWith('#')) return line;
      // The timestamp goes before an exemplar (` # {...} value timestamp`); test labels hold no ` # {`.
      const exemplar = line.lastIndexOf(' # {');
      return exemplar < 0 ? `${line} 1700000000` : `${line.slice(0, exemplar)} 1700000000${line.slice(exemplar)}`;
    })
    .join('\n');
  const input = path.join(workDir, 'exposition.om.txt');
  fs.writeFileSync(input, timestamped);
  const check = runPromtool(['tsdb', 'create-blocks-from', 'openmetrics', input, path.join(workDir, 'blocks')]);
  assert.equal(check.status, 0, `promtool tsdb create-blocks-from openmetrics: ${check.stderr}\n--- input\n${timestamped}`);
  // The block summary's NUM SAMPLES column: every sample line was parsed, none dropped.
  const summary = check.stdout.trim().split('\n');
  const header = summary[0].split(/\s{2,}/);
  const row = summary[summary.length - 1].split(/\s{2,}/);
  assert.equal(summary.length, 2, `one block:\n${check.stdout}`);
  assert.equal(Number(row[header.indexOf('NUM SAMPLES')]), sampleLines(exposition).length, check.stdout);
}

/**
 * Asserts that `promtool check metrics` parses the text-format `exposition`:
 * it exits 0, or 3 for lint findings only (about names the files chose, such
 * as a gauge ending in _total); 1 is a parse error.
 */
export function assertPromtoolParses(exposition: string): void {
  const check = runPromtool(['check', 'metrics'], exposition);
  assert.ok(check.status === 0 || check.status === 3, `promtool check metrics: status ${check.status}: ${check.stderr}${check.stdout}\n--- input\n${exposition}`);
}
