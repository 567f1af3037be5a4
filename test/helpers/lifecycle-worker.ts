// A writer driven over IPC by test/lifecycle.test.ts.
// Env: PROMETHEUS_MULTIPROC_DIR, LIFECYCLE_PROCESS_ID (optional), LIFECYCLE_TIMEOUT_MS.
import { Counter, Gauge, Histogram, configure } from '../../src/index.js';

export type LifecycleCommand =
  | { op: 'count'; times: number }
  | { op: 'set'; value: number }
  | { op: 'countKind'; kind: string; times: number }
  | { op: 'remove'; kind: string }
  | { op: 'exit' };

configure({
  processId: process.env.LIFECYCLE_PROCESS_ID || undefined,
  livenessTimeoutMs: Number(process.env.LIFECYCLE_TIMEOUT_MS ?? 2000),
  clock: () => Date.now() / 1000,
});

const jobs = new Counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['kind'] });
const latency = new Histogram({ name: 'latency', help: 'Latency.', buckets: [0.5, 1] });
const inflight = new Gauge({ name: 'inflight', help: 'In flight.', multiprocessMode: 'livesum' });
const perWorker = new Gauge({ name: 'per_worker', help: 'Per worker.', multiprocessMode: 'liveall' });
const all = new Gauge({ name: 'all_mode', help: 'All.', multiprocessMode: 'all' });
const peak = new Gauge({ name: 'peak', help: 'Peak.', multiprocessMode: 'max' });
const low = new Gauge({ name: 'low', help: 'Low.', multiprocessMode: 'min' });
const total = new Gauge({ name: 'total', help: 'Total.', multiprocessMode: 'sum' });
const last = new Gauge({ name: 'last', help: 'Last.', multiprocessMode: 'mostrecent' });
const done = jobs.labels('done');

process.on('message', (command: LifecycleCommand) => {
  if (command.op === 'count') {
    for (let i = 0; i < command.times; i++) {
      done.inc();
      latency.observe(0.75);
    }
  } else if (command.op === 'set') {
    for (const gauge of [inflight, perWorker, all, peak, low, total, last]) gauge.set(command.value);
  } else if (command.op === 'countKind') {
    jobs.inc({ kind: command.kind }, command.times);
  } else if (command.op === 'remove') {
    jobs.remove({ kind: command.kind });
  } else {
    process.disconnect();
    return;
  }
  process.send!({ ok: true });
});
process.send!({ ready: true });
