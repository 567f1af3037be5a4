// A writer of native histograms driven over IPC by test/native-histogram-multiprocess.test.ts.
// Env: PROMETHEUS_MULTIPROC_DIR, NATIVE_PROCESS_ID, NATIVE_FACTOR, NATIVE_MAX_BUCKETS (optional), NATIVE_TIMEOUT_MS.
import { Histogram, configure } from '../../src/index.js';
import { stormValue } from './native-reference.js';

export type NativeCommand =
  /** Observes each value under `route`. */
  | { op: 'observe'; route: string; values: number[] }
  /** Observes stormValue(seed, decades, 0, 1, ...) for `ms`, as fast as it can; answers how many. */
  | { op: 'storm'; route: string; ms: number; seed: number; decades: number }
  /** remove() of one route's series. */
  | { op: 'remove'; route: string }
  | { op: 'exit' };

configure({ processId: process.env.NATIVE_PROCESS_ID || undefined, livenessTimeoutMs: Number(process.env.NATIVE_TIMEOUT_MS ?? 2000) });

const latency = new Histogram({
  name: 'latency_seconds',
  help: 'Latency.',
  labelNames: ['route'],
  buckets: [0.01, 0.1, 1, 10],
  nativeHistogramBucketFactor: Number(process.env.NATIVE_FACTOR),
  ...(process.env.NATIVE_MAX_BUCKETS ? { nativeHistogramMaxBucketNumber: Number(process.env.NATIVE_MAX_BUCKETS) } : {}),
});

process.on('message', (command: NativeCommand) => {
  if (command.op === 'observe') {
    for (const value of command.values) latency.observe({ route: command.route }, value);
    process.send!({ ok: true });
  } else if (command.op === 'storm') {
    const child = latency.labels(command.route);
    const end = Date.now() + command.ms;
    let i = 0;
    while (Date.now() < end) for (let k = 0; k < 100; k++, i++) child.observe(stormValue(command.seed, command.decades, i));
    process.send!({ ok: true, count: i });
  } else if (command.op === 'remove') {
    latency.remove(command.route);
    process.send!({ ok: true });
  } else {
    process.disconnect();
  }
});
process.send!({ ready: true });
