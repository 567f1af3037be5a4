// Behaviour on a full tmpfs. Needs a small, empty tmpfs (as root):
//   mkdir -p /tmp/tiny && mount -t tmpfs -o size=256k tmpfs /tmp/tiny
// usage: node full-tmpfs.js /tmp/tiny sigbus|write|overflow|reopen
//   sigbus   store through a mapping into holes of a 1 MiB sparse file: dies with SIGBUS (status 135)
//   write    allocate the same file with write() first: ENOSPC, the process lives
//   overflow the library: growth fails, new series wait in memory, move into the file when space returns
//   reopen   a sparse file from an earlier process with the same id, reopened while the disk is full
const fs = require('fs');
const path = require('path');
const [tiny, which] = process.argv.slice(2);
const dir = path.join(tiny, 'metrics'), filler = path.join(tiny, 'filler');
const logger = { warn: (m) => console.log('LOG:', m) };
function fill(leave = 0) { // fill the tmpfs, leaving about `leave` bytes; returns a release function
  const fd = fs.openSync(filler, 'w');
  try { for (;;) fs.writeSync(fd, Buffer.alloc(4096)); } catch { /* ENOSPC: full */ }
  if (leave) fs.ftruncateSync(fd, Math.max(0, fs.fstatSync(fd).size - leave));
  return () => { fs.closeSync(fd); fs.rmSync(filler); };
}
function cleanup() { fs.rmSync(dir, { recursive: true, force: true }); fs.rmSync(filler, { force: true }); }
fs.mkdirSync(dir);
if (which === 'sigbus' || which === 'write') {
  const file = path.join(dir, 'sparse.db');
  const fd = fs.openSync(file, 'w+');
  fs.ftruncateSync(fd, 1 << 20); // 1 MiB of holes on a 256 KiB tmpfs
  fs.rmSync(dir, { recursive: true }); // the open fd keeps the inode; nothing is left behind
  if (which === 'write') {
    try { for (let pos = 0; pos < 1 << 20; ) pos += fs.writeSync(fd, Buffer.alloc(65536), 0, 65536, pos); }
    catch (e) { console.log('write() failed with', e.code, '- the process lives on'); }
  } else {
    const mmap = require('@riaskov/mmap-io');
    const values = new Float64Array(mmap.map(1 << 20, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0).buffer);
    for (let page = 0; page < 256; page++) { if (page % 16 === 0) console.log('storing into page', page); values[page * 512] += 1; }
  }
} else if (which === 'overflow') {
  const { configure, Counter, MultiprocessRegistry } = require('../../dist/index.js');
  configure({ dir, logger });
  const release = fill(100 * 1024); // room for the 64 KiB file but not for its growth to 128 KiB
  const c = new Counter({ name: 'jobs', help: 'h', labelNames: ['i'] });
  for (let i = 0; i < 3000; i++) c.labels(String(i)).inc();
  console.log('file size', fs.statSync(path.join(dir, `counter_${process.pid}.db`)).size, 'after 3000 children; the process lives on');
  release();
  setTimeout(async () => {
    c.labels('2999').inc();
    const lines = (await new MultiprocessRegistry({ dir }).metrics()).split('\n').filter((l) => l.startsWith('jobs_total'));
    console.log('series exported:', lines.length, '|', lines.find((l) => l.includes('"2999"')));
    cleanup();
  }, 1200);
} else if (which === 'reopen') {
  const { writeEntry, writeUsed, entrySize } = require('../../dist/format/layout.js');
  const key = Buffer.from('["jobs", "jobs_total", {}, "h"]');
  const image = Buffer.alloc(4096);
  writeEntry(image, 8, key, 5, 0);
  writeUsed(image, 8 + entrySize(key.length));
  const file = path.join(dir, 'counter_x1.db');
  fs.writeFileSync(file, image);
  fs.truncateSync(file, 65536); // sparse, as Python leaves its files; jobs_total = 5 from the earlier process
  const release = fill();
  const { configure, Counter, MultiprocessRegistry } = require('../../dist/index.js');
  configure({ dir, processId: 'x1', logger });
  const c = new Counter({ name: 'jobs', help: 'h' });
  c.inc();
  release();
  setTimeout(async () => {
    const { inspectFile } = require('../../dist/index.js');
    console.log('entries in the file:', JSON.stringify(inspectFile(file).entries.map((e) => [e.sampleName, e.value])));
    console.log('exported:', (await new MultiprocessRegistry({ dir }).metrics()).split('\n').filter((l) => l.startsWith('jobs_total')).join(' | '));
    cleanup();
  }, 1200);
}
