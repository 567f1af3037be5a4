// A writer of exemplars driven over IPC by test/exemplars-multiprocess.test.ts.
// Env: PROMETHEUS_MULTIPROC_DIR, EXEMPLAR_PROCESS_ID, EXEMPLAR_TIMEOUT_MS.
import { Counter, Histogram, Registry, configure } from '../../src/index.js';

export type ExemplarCommand =
  /** Counts `value` under `route` with an exemplar whose trace id is `trace`. */
  | { op: 'inc'; route: string; value: number; trace: string }
  /** Observes `value` under `route` with an exemplar whose trace id is `trace`. */
  | { op: 'observe'; route: string; value: number; trace: string }
  /** Counts or observes `value` under `route` with no exemplar. */
  | { op: 'incPlain' | 'observePlain'; route: string; value: number }
  /** remove() of `route` from both metrics. */
  | { op: 'remove'; route: string }
  /** reset() or zero({ route }) of both metrics. */
  | { op: 'reset' }
  | { op: 'zero'; route: string }
  /** Answers `{ counter, histogram }`: both metrics' get() values (exemplars as this process keeps them). */
  | { op: 'get' }
  | { op: 'exit' };

configure({ processId: process.env.EXEMPLAR_PROCESS_ID || undefined, livenessTimeoutMs: Number(process.env.EXEMPLAR_TIMEOUT_MS ?? 2000) });

// Exemplars need an OpenMetrics registry, as in prom-client.
const registry = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
const requests = new Counter({ name: 'requests', help: 'Requests.', labelNames: ['route'], enableExemplars: true, registers: [registry] });
const latency = new Histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['route'], buckets: [0.1, 1], enableExemplars: true, registers: [registry] });

process.on('message', async (command: ExemplarCommand) => {
  if (command.op === 'inc') {
    requests.inc({ labels: { route: command.route }, value: command.value, exemplarLabels: { trace_id: command.trace } });
  } else if (command.op === 'observe') {
    latency.observe({ labels: { route: command.route }, value: command.value, exemplarLabels: { trace_id: command.trace } });
  } else if (command.op === 'incPlain') {
    requests.inc({ labels: { route: command.route }, value: command.value });
  } else if (command.op === 'observePlain') {
    latency.observe({ labels: { route: command.route }, value: command.value });
  } else if (command.op === 'remove') {
    requests.remove({ route: command.route });
    latency.remove({ route: command.route });
  } else if (command.op === 'reset') {
    requests.reset();
    latency.reset();
  } else if (command.op === 'zero') {
    requests.zero({ route: command.route });
    latency.zero({ route: command.route });
  } else if (command.op === 'get') {
    process.send!({ counter: (await requests.get()).values, histogram: (await latency.get()).values });
    return;
  } else {
    process.disconnect();
    return;
  }
  process.send!({ ok: true });
});
process.send!({ ready: true });
