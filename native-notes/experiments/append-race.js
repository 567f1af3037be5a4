// A writer process appends entries through the library's EntryFile (dist build) while this
// process scrapes the directory with MultiprocessRegistry (counting skipped files) and also
// parses the newest file in full with inspectFile (counting failures).
// Each round writes a fresh file (3000 entries, the default, grow it twice: 64 -> 256 KiB;
// 300 entries stay within 64 KiB) so reads stay short. usage: [NN_PER_ROUND=300] node append-race.js [seconds]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { fork } = require('child_process');
const seconds = Number(process.argv[2] || 5);
const perRound = Number(process.env.NN_PER_ROUND || 3000);
if (process.env.NN_CHILD) {
  const dir = process.argv[3];
  const { MappedFileBacking } = require('../../dist/storage/backing.js');
  const { EntryFile, emptyFileImage } = require('../../dist/storage/entry-file.js');
  const end = Date.now() + seconds * 1000 + 500;
  let round = 0, appends = 0;
  while (Date.now() < end) {
    const { backing, existing } = MappedFileBacking.open(path.join(dir, `counter_r${round}.db`), emptyFileImage());
    const file = new EntryFile(backing, existing);
    if (round === 0) process.send('ready');
    for (let i = 0; i < perRound; i++, appends++) file.append([`["c", "c_total", {"i": "${i}"}, "h"]`]);
    fs.writeFileSync(path.join(dir, 'current'), String(round));
    if (round > 0) fs.rmSync(path.join(dir, `counter_r${round - 1}.db`));
    round++;
  }
  process.send({ appends, rounds: round });
} else {
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'append-race-'));
  const { MultiprocessRegistry } = require('../../dist/index.js');
  const { inspectFile } = require('../../dist/index.js');
  const reasons = {};
  const logger = { warn: (m) => { const r = m.replace(/\d+/g, 'N'); reasons[r] = (reasons[r] ?? 0) + 1; } };
  const registry = new MultiprocessRegistry({ dir, logger });
  const child = fork(__filename, [String(seconds), dir], { env: { ...process.env, NN_CHILD: '1' } });
  child.once('message', async () => {
    let scrapes = 0, plainReads = 0, plainFailed = 0;
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      // The scrape path: readdir, readFileImage, incremental parse (only new entries), merge.
      await registry.metrics();
      scrapes++;
      // A full strict parse of the newest file, as tools and tests do.
      let round = 0;
      try { round = Number(fs.readFileSync(path.join(dir, 'current'), 'utf8')) + 1; } catch {}
      const inspection = inspectFile(path.join(dir, `counter_r${round}.db`));
      if (inspection.size !== undefined) {
        plainReads++;
        if (inspection.problems.length > 0) { plainFailed++; logger.warn(`inspectFile: ${inspection.problems[0].reason}`); }
      }
    }
    const skipped = Number(/^prom_multiproc_skipped_files_total (\S+)$/m.exec(await registry.metrics())[1]);
    child.once('message', (m) => {
      console.log(JSON.stringify({ seconds, perRound, ...m, scrapes, skippedFiles: skipped, plainReads, plainFailed, reasons }));
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });
}
