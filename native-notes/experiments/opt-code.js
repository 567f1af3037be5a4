// What machine code does V8's optimizing compiler emit for a Float64Array element store into a
// mapped Buffer? usage:
//   node --print-opt-code --print-opt-code-filter=storeValue opt-code.js | grep -E 'movsd|kind|name ='
const fs = require('fs');
const os = require('os');
const path = require('path');
const mmap = require('@riaskov/mmap-io');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opt-code-'));
const fd = fs.openSync(path.join(dir, 'opt.db'), 'w+');
fs.writeSync(fd, Buffer.alloc(65536));
const buf = mmap.map(65536, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0);
const region = { values: new Float64Array(buf.buffer, buf.byteOffset, buf.length >>> 3) };
function storeValue(r, slot, v) { r.values[slot] = v; }
for (let i = 0; i < 1e6; i++) storeValue(region, 3, i);
fs.rmSync(dir, { recursive: true });
