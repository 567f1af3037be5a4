// What reading a multiprocess directory costs with plain reads, before any parsing.
//   node native-notes/experiments/read-costs.js DIR
// 1. Every .db file's bytes in use, read into one reused buffer (a scrape's copy floor), 4 rounds.
// 2. Per file: open, read header, fstat, read, close (a file opened afresh) against a stat of the
//    path and one read on a descriptor kept open (what the collector does for a file it knows), 5 rounds.
const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
if (!dir) throw new Error('usage: node read-costs.js DIR');
const files = fs.readdirSync(dir).filter((n) => n.endsWith('.db')).map((n) => path.join(dir, n));
const buf = Buffer.allocUnsafeSlow(8 << 20);
buf.fill(0); // touch the pages once, so that page faults are not counted as reading

for (let round = 0; round < 4; round++) {
  const t = performance.now();
  let total = 0;
  for (const file of files) {
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, buf, 0, 8, 0);
    const used = buf.readInt32LE(0);
    for (let got = 8; got < used; ) got += fs.readSync(fd, buf, got, used - got, got);
    total += used;
    fs.closeSync(fd);
  }
  const ms = performance.now() - t;
  console.log(`bytes in use of ${files.length} files: ${(total / 1e6).toFixed(1)} MB in ${ms.toFixed(1)} ms (${(total / 1e6 / ms).toFixed(1)} GB/s)`);
}

const kept = files.map((file) => fs.openSync(file, 'r'));
for (let round = 0; round < 5; round++) {
  let t = performance.now();
  for (const file of files) {
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, buf, 0, 8, 0);
    fs.fstatSync(fd);
    fs.readSync(fd, buf, 8, Math.min(65536, buf.readInt32LE(0)) - 8, 8);
    fs.closeSync(fd);
  }
  const fresh = performance.now() - t;
  t = performance.now();
  files.forEach((file, i) => {
    fs.statSync(file);
    fs.readSync(kept[i], buf, 0, 65536, 0);
  });
  const keptMs = performance.now() - t;
  console.log(`${files.length} files, first 64 KiB each: opened afresh ${fresh.toFixed(2)} ms; kept open ${keptMs.toFixed(2)} ms`);
}
for (const fd of kept) fs.closeSync(fd);
