import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { readEntryFile } from './helpers/read-entries.js';
import { currentLayoutFile, pythonKey } from './helpers/db-files.js';
import { tempDir } from './helpers/fixtures.js';
import { runSnippet } from './helpers/run-script.js';
import { fillDisk, mountTmpfs, unmountTmpfs } from './helpers/tmpfs.js';

const jobsKey = (kind: string): string => pythonKey('jobs', 'jobs_total', { kind }, 'Jobs.');
const INCREMENT = `const jobs = new lib.Counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['kind'] });`;

test('an existing 0-byte file (its writer died while creating it) is initialised and used', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'counter_w1.db');
    fs.writeFileSync(file, '');
    const result = runSnippet(`lib.configure({ processId: 'w1' }); ${INCREMENT} jobs.inc({ kind: 'a' }, 3);`, { PROMETHEUS_MULTIPROC_DIR: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '', 'no warning: the file is usable');
    assert.equal(fs.statSync(file).size, 65536);
    assert.deepEqual(
      readEntryFile(file).map((e) => [e.sampleName, e.labels, e.value]),
      [['jobs_total', { kind: 'a' }, 3]],
    );
  } finally {
    cleanup();
  }
});

test('a sparse file left by Python, reopened on a full disk: its series count on, new ones wait, no SIGBUS', (t) => {
  const dir = mountTmpfs(t, '512k');
  if (!dir) return;
  try {
    // Python extends files with truncate: everything past the entries is a hole.
    const file = path.join(dir, 'counter_w2.db');
    const image = currentLayoutFile([{ key: jobsKey('old'), value: 5 }]);
    const used = image.readInt32LE(0);
    fs.writeFileSync(file, image.subarray(0, used));
    fs.truncateSync(file, 4 * 65536);
    fillDisk(dir);
    const result = runSnippet(
      `lib.configure({ processId: 'w2' }); ${INCREMENT}
      jobs.inc({ kind: 'old' }, 2);
      for (let i = 0; i < 200; i++) jobs.inc({ kind: 'new' + i }, 1);
      jobs.inc({ kind: 'old' }, 1);`,
      { PROMETHEUS_MULTIPROC_DIR: dir },
    );
    assert.equal(result.signal, null, `the writer died with ${result.signal}`);
    assert.equal(result.status, 0, result.stderr);
    const warnings = result.stderr.split('\n').filter((line) => line.startsWith('prom-multiproc:'));
    // One for the liveness marker that could not be written, one for the file that could not grow,
    // one at exit for the series that never found room.
    assert.equal(warnings.length, 3, result.stderr);
    assert.ok(warnings[0].includes('liveness lock') && warnings[0].includes('ENOSPC'), warnings[0]);
    assert.ok(warnings[1].includes(file) && warnings[1].includes('ENOSPC'), warnings[1]);
    const lost = /exiting with (\d+) series still waiting in memory for room in (.*): their values are lost$/.exec(warnings[2]);
    assert.ok(lost && lost[2] === file, warnings[2]);
    assert.ok(!fs.existsSync(path.join(dir, 'w2.lock')), 'the lock taken before the marker failed is given back');
    const entries = readEntryFile(file).map((e) => [e.labels.kind, e.value] as const);
    assert.deepEqual(entries[0], ['old', 8], 'the series already in the file counted on, in place');
    const added = entries.slice(1);
    // New entries fill the page that was already allocated, and no further: the rest wait in memory.
    assert.ok(added.length > 0 && added.length < 200, `${added.length} new entries in the file`);
    assert.equal(added.length + Number(lost[1]), 200, 'every new series is in the file or said lost');
    assert.deepEqual(added, added.map((_, i) => [`new${i}`, 1]));
    assert.ok(fs.readFileSync(file).readInt32LE(0) <= 4096);
  } finally {
    unmountTmpfs(dir);
  }
});
