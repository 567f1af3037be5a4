// A process of the runtime-metrics tests; argv[2] is its mode, the directory
// comes from PROMETHEUS_MULTIPROC_DIR (or none, for in-process mode).
//  serve:    collects runtime metrics, sends 'ready', burns CPU in slices until
//            it receives 'stop', then disconnects and ends on its own.
//  finish:   no IPC; collects, burns a fixed amount of CPU, prints its own
//            process.cpuUsage() as JSON and then has nothing left to do: it must exit.
//  no-watch: like serve, but calls collectRuntimeMetrics with no file
//            descriptor left (run it under a low `ulimit -n`), so the directory
//            cannot be watched and the fallback timer has to take over.
import * as fs from 'node:fs';
import { collectRuntimeMetrics, Counter, Gauge, Histogram } from '../../src/index.js';

let sink = 0;

function burn(iterations: number): void {
  for (let i = 0; i < iterations; i++) sink += Math.sqrt(i + sink) % 7;
}

/** Burns CPU in slices, yielding between them so watch events and messages get through. */
function workUntilStopped(): void {
  let stopped = false;
  process.on('message', (message) => {
    if (message !== 'stop') return;
    stopped = true;
    process.disconnect();
  });
  const slice = (): void => {
    if (stopped) return;
    burn(200_000);
    setTimeout(slice, 1);
  };
  slice();
}

/**
 * Opens every file collectRuntimeMetrics writes into (their descriptors stay
 * open with the mapping) and loads the modules it loads at its first call,
 * then fills the descriptor table: the watch, which needs a new inotify
 * descriptor, is the one thing that then fails.
 */
function withoutDescriptors(action: () => void): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../../src/surfaces/runtime-metrics/index.js'); // loaded at the first read of the export
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../../src/surfaces/runtime-metrics/measurements.js');
  new Counter({ name: 'runtime_test_placeholder', help: 'Opens the counter file.' });
  new Histogram({ name: 'runtime_test_placeholder_histogram', help: 'Opens the histogram file.' });
  new Gauge({ name: 'runtime_test_placeholder_liveall', help: 'Opens the liveall file.', multiprocessMode: 'liveall' });
  new Gauge({ name: 'runtime_test_placeholder_livesum', help: 'Opens the livesum file.', multiprocessMode: 'livesum' });
  const filler: number[] = [];
  try {
    for (;;) filler.push(fs.openSync('/dev/null', 'r'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EMFILE') throw err;
  }
  try {
    action();
  } finally {
    for (const fd of filler) fs.closeSync(fd);
  }
}

const mode = process.argv[2];
if (mode === 'serve') {
  collectRuntimeMetrics();
  process.send!('ready');
  workUntilStopped();
} else if (mode === 'finish') {
  collectRuntimeMetrics();
  burn(2_000_000);
  setTimeout(() => {
    burn(2_000_000);
    const cpu = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ pid: process.pid, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
  }, 20);
} else if (mode === 'no-watch') {
  withoutDescriptors(() => collectRuntimeMetrics({ fallbackRefreshSeconds: 0.2 }));
  process.send!('ready');
  workUntilStopped();
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
