// A file truncated under a reader: read() returns a short count, a mapping raises SIGBUS.
// usage: node shrink.js read | node shrink.js map   (the second exits with status 135)
const fs = require('fs');
const os = require('os');
const path = require('path');
const mmap = require('@riaskov/mmap-io');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shrink-'));
const file = path.join(dir, 'shrink.db');
fs.writeFileSync(file, Buffer.alloc(65536, 1));
const fd = fs.openSync(file, 'r');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
if (process.argv[2] === 'read') {
  fs.truncateSync(file, 4096);
  console.log('read() of 65536 bytes after truncation to 4096 returned', fs.readSync(fd, Buffer.alloc(65536), 0, 65536, 0));
} else {
  const map = mmap.map(65536, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0);
  console.log('mapped byte 8192 before truncation:', map[8192]);
  fs.truncateSync(file, 4096);
  fs.rmSync(dir, { recursive: true }); // the mapping keeps the (now short) inode; nothing is left behind
  console.log('mapped byte 8192 after truncation:', map[8192]); // not reached: SIGBUS
}
