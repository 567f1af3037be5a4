// Can a reader using read(2), as the collector does, see a half-written value?
// A child stores two alternating patterns into a MAP_SHARED page; this process reads
// the same bytes with fs.readSync and counts results that are neither pattern.
// usage: node torn-stores.js <f64|buf32|i32|atomics> [seconds]
//   f64     Float64Array element store (how metrics write values)
//   buf32   Buffer.writeInt32LE (how writeUsed() publishes `used` today)
//   i32     Int32Array element store
//   atomics Atomics.store on an Int32Array
const fs = require('fs');
const os = require('os');
const path = require('path');
const { fork } = require('child_process');
const [mode, seconds = '5', dir] = process.argv.slice(2);
const A32 = 0x000100f8, B32 = 0x00020008; // the low three bytes differ
const A64 = 1.5, B64 = -2.0000000000000004; // all eight bytes differ
if (process.env.NN_CHILD) {
  const mmap = require('@riaskov/mmap-io');
  const fd = fs.openSync(path.join(dir, 'torn.db'), 'r+');
  const buf = mmap.map(65536, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0);
  const f64 = new Float64Array(buf.buffer, buf.byteOffset, 8192);
  const i32 = new Int32Array(buf.buffer, buf.byteOffset, 16384);
  process.send('ready');
  for (let n = 0; ; n++) {
    const odd = (n & 1) === 1;
    if (mode === 'f64') f64[1] = odd ? B64 : A64;
    else if (mode === 'buf32') buf.writeInt32LE(odd ? B32 : A32, 0);
    else if (mode === 'atomics') Atomics.store(i32, 0, odd ? B32 : A32);
    else i32[0] = odd ? B32 : A32;
  }
} else {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torn-'));
  const init = Buffer.alloc(65536);
  init.writeInt32LE(A32, 0);
  init.writeDoubleLE(A64, 8);
  fs.writeFileSync(path.join(tmp, 'torn.db'), init);
  const child = fork(__filename, [mode, seconds, tmp], { env: { ...process.env, NN_CHILD: '1' }, execArgv: process.execArgv });
  child.once('message', () => {
    const fd = fs.openSync(path.join(tmp, 'torn.db'), 'r');
    const h = Buffer.alloc(16);
    let reads = 0, a = 0, b = 0, torn = 0, example;
    const end = Date.now() + Number(seconds) * 1000;
    while (Date.now() < end) {
      for (let k = 0; k < 10000; k++, reads++) {
        fs.readSync(fd, h, 0, 16, 0);
        const v = mode === 'f64' ? h.readDoubleLE(8) : h.readInt32LE(0);
        if (v === (mode === 'f64' ? A64 : A32)) a++;
        else if (v === (mode === 'f64' ? B64 : B32)) b++;
        else { torn++; example = mode === 'f64' ? h.subarray(8).toString('hex') : '0x' + v.toString(16); }
      }
    }
    child.kill();
    child.once('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
    console.log(JSON.stringify({ mode, execArgv: process.execArgv.join(' '), reads, sawA: a, sawB: b, torn, example }));
  });
}
