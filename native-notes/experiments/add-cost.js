// ns per `region.values[slot] += 1` into a MAP_SHARED page (tmpfs) vs a heap Buffer, and
// per Counter.inc() of the built library. Timings on a shared VM are noisy: run it twice.
const fs = require('fs');
const os = require('os');
const path = require('path');
const mmap = require('@riaskov/mmap-io');
const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'add-cost-'));
fs.writeFileSync(path.join(dir, 'raw.db'), Buffer.alloc(65536));
const fd = fs.openSync(path.join(dir, 'raw.db'), 'r+');
const mapped = mmap.map(65536, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0);
const region = (b) => ({ values: new Float64Array(b.buffer, b.byteOffset, b.length >>> 3) });
const N = 1e8;
function addLoop(r, n) { for (let i = 0; i < n; i++) r.values[5] += 1; }
function incLoop(counter, n) { for (let i = 0; i < n; i++) counter.inc(); }
function time(name, loop, target) {
  loop(target, 1e6); // let the optimizing compiler take over
  const t0 = process.hrtime.bigint();
  loop(target, N);
  console.log(`${name}: ${(Number(process.hrtime.bigint() - t0) / N).toFixed(2)} ns`);
}
const m = region(mapped), h = region(Buffer.alloc(65536));
for (let r = 0; r < 3; r++) { time('add into mapped page', addLoop, m); time('add into heap buffer', addLoop, h); }
process.env.PROMETHEUS_MULTIPROC_DIR = dir;
const { Counter } = require('../../dist/index.js');
const counter = new Counter({ name: 'bench', help: 'h' });
for (let r = 0; r < 3; r++) time('Counter.inc()', incLoop, counter);
fs.rmSync(dir, { recursive: true });
