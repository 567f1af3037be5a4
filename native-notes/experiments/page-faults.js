// What a fresh page costs, and how many a cold scrape touches.
//   node native-notes/experiments/page-faults.js            first touch of 64 MB of fresh memory, 3 rounds
//   node native-notes/experiments/page-faults.js DIR        one cold and one warm scrape of DIR, with their minor faults
const { MultiprocessRegistry } = require('../../dist/index.js');
const faults = () => process.resourceUsage().minorPageFault;

if (!process.argv[2]) {
  for (let round = 0; round < 3; round++) {
    const buf = Buffer.allocUnsafeSlow(64 * 1024 * 1024);
    let t = performance.now();
    let f = faults();
    for (let i = 0; i < buf.length; i += 4096) buf[i] = 1;
    const first = performance.now() - t;
    const pages = faults() - f;
    t = performance.now();
    for (let i = 0; i < buf.length; i += 4096) buf[i] = 2;
    const second = performance.now() - t;
    console.log(`first touch: ${pages} faults in ${first.toFixed(1)} ms = ${((first * 1000) / pages).toFixed(2)} us/page; second touch: ${second.toFixed(2)} ms`);
  }
} else {
  (async () => {
    const registry = new MultiprocessRegistry({ dir: process.argv[2], compactThreshold: 0 });
    for (const label of ['cold', 'warm']) {
      const f = faults();
      const t = performance.now();
      await registry.metrics();
      console.log(`${label}: ${(performance.now() - t).toFixed(1)} ms, ${faults() - f} minor faults`);
    }
  })();
}
