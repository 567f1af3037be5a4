import { execFileSync } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MultiprocessRegistry, SKIPPED_FILES_FAMILY, markProcessDead } from '../src/index.js';
import { pythonFloatRepr } from '../src/format/float.js';
import { FIXTURES, fixtureCases, loadCase, loadExpected, tempDir } from './helpers/fixtures.js';

const WORKER = path.join(__dirname, 'helpers', 'replay-worker.ts');

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sampleOrder(a: { name: string; labels: Record<string, string> }, b: { name: string; labels: Record<string, string> }): number {
  const la = JSON.stringify(Object.entries(a.labels).sort());
  const lb = JSON.stringify(Object.entries(b.labels).sort());
  return compareText(a.name, b.name) || compareText(la, lb);
}

describe('Python prometheus_client compatibility (fixtures written by the real Python client)', () => {
  for (const name of fixtureCases()) {
    const fixture = loadCase(name);
    const expectedDb = path.join(FIXTURES, name, 'db');

    it(`${name}: replaying ops.json writes byte-identical files`, () => {
      const { dir, cleanup } = tempDir();
      try {
        fixture.workers.forEach((_worker, index) => {
          // One real process per simulated worker, as Python ran them.
          execFileSync(process.execPath, ['--import', 'tsx', WORKER, name, String(index), dir], { stdio: 'inherit' });
        });
        for (const pid of fixture.dead ?? []) markProcessDead(pid, dir);
        const expectedFiles = fs.readdirSync(expectedDb).sort();
        assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.db')).sort(), expectedFiles);
        for (const file of expectedFiles) {
          const ours = fs.readFileSync(path.join(dir, file));
          const theirs = fs.readFileSync(path.join(expectedDb, file));
          assert.equal(ours.length, theirs.length, `${file}: size`);
          const firstDiff = ours.findIndex((byte, i) => byte !== theirs[i]);
          assert.equal(firstDiff, -1, `${file}: first differing byte at ${firstDiff}`);
        }
      } finally {
        cleanup();
      }
    });

    // Python's files hold `_total` counter samples only: either naming exports them as Python does.
    for (const naming of ['python', 'prom-client'] as const) {
      it(`${name}: the collector exports exactly Python's samples (${naming} naming)`, async () => {
        const warnings: string[] = [];
        const registry = new MultiprocessRegistry({ dir: expectedDb, naming, logger: { warn: (m) => warnings.push(m) } });
        const families = await registry.collect();
        const ours = families
          .filter((f) => f.name !== SKIPPED_FILES_FAMILY)
          .flatMap((f) => f.samples.map((s) => ({ family: f.name, help: f.help, type: f.type, ...s })))
          .sort(sampleOrder);
        const expected = loadExpected(name).sort(sampleOrder);
        assert.deepEqual(warnings, []);
        assert.equal(ours.length, expected.length, 'number of samples');
        ours.forEach((sample, i) => {
          const want = expected[i];
          const where = `${want.name}${JSON.stringify(want.labels)}`;
          assert.equal(sample.name, want.name, where);
          assert.deepEqual(sample.labels, want.labels, where);
          assert.equal(pythonFloatRepr(sample.value), want.value, `${where}: value`);
          assert.equal(sample.family, want.family, `${where}: family`);
          assert.equal(sample.help, want.help, `${where}: help`);
          assert.equal(sample.type, want.type, `${where}: type`);
        });
        const skipped = families.find((f) => f.name === SKIPPED_FILES_FAMILY);
        assert.equal(skipped?.samples[0].value, 0);
      });
    }
  }
});
