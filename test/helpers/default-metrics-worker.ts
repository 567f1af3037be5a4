// A worker of test/default-metrics-multiprocess.test.ts: calls
// collectDefaultMetrics() in the directory of PROMETHEUS_MULTIPROC_DIR (a
// liveness timeout of 2 s, so that a killed worker is found dead soon),
// sends 'ready', then burns CPU in slices. On 'cpu' it answers with its own
// process.cpuUsage() in seconds. It keeps one fs request active (a read of
// its stdin, which the test never writes to), so nodejs_active_requests has
// a series; such a process cannot exit on its own, and the test kills it.
import * as fs from 'node:fs';
import { collectDefaultMetrics, configure } from '../../src/index.js';

configure({ livenessTimeoutMs: 2000 });
collectDefaultMetrics();
fs.read(0, Buffer.alloc(1), 0, 1, null, () => {});

let sink = 0;
const slice = (): void => {
  for (let i = 0; i < 100_000; i++) sink += Math.sqrt(i + sink) % 7;
  setTimeout(slice, 1);
};

process.on('message', (message) => {
  if (message !== 'cpu') return;
  const cpu = process.cpuUsage();
  process.send!({ cpu: (cpu.user + cpu.system) / 1e6 });
});
process.send!('ready');
slice();
