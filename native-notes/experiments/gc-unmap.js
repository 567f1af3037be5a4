// Remap as grow() does, then check /proc/self/maps: does the old mapping go away when its
// Buffer is garbage-collected, and do both mappings show the same bytes?
// usage: node --expose-gc gc-unmap.js
const fs = require('fs');
const os = require('os');
const path = require('path');
const mmap = require('@riaskov/mmap-io');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gc-unmap-'));
const file = path.join(dir, 'gc.db');
fs.writeFileSync(file, Buffer.alloc(65536));
const fd = fs.openSync(file, 'r+');
const mappings = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(file)).length;
const RW = mmap.PROT_READ | mmap.PROT_WRITE;
let old = mmap.map(65536, RW, mmap.MAP_SHARED, fd, 0);
old[100] = 7;
fs.writeSync(fd, Buffer.alloc(65536), 0, 65536, 65536); // grow to 128 KiB with write(), as grow() does
const grown = mmap.map(131072, RW, mmap.MAP_SHARED, fd, 0);
console.log('mappings of the file:', mappings(), '| byte stored via old, read via new:', grown[100]);
old[101] = 9;
console.log('store via the old mapping after the remap, read via new:', grown[101]);
old = null;
global.gc();
setImmediate(() => setImmediate(() => {
  console.log('after gc: mappings of the file:', mappings(), '| bytes still there:', grown[100], grown[101]);
  fs.rmSync(dir, { recursive: true });
}));
