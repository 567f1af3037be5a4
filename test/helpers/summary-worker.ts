// A writer of summaries driven over IPC by test/summary-multiprocess.test.ts.
// Env: PROMETHEUS_MULTIPROC_DIR, SUMMARY_PROCESS_ID, SUMMARY_TIMEOUT_MS.
import { Summary, configure } from '../../src/index.js';
import { LATENCY_PERCENTILES, WINDOW, WINDOWED_PERCENTILES } from './summary-reference.js';

export type SummaryCommand =
  /** Observes each value under `route`, in the summary without a window (`latency`) or the one with a 2 s window (`windowed`). */
  | { op: 'observe'; metric: 'latency' | 'windowed'; route: string; values: number[] }
  /** reset() of the summary (every series back to nothing, kept), or remove() of one route's series. */
  | { op: 'reset'; metric: 'latency' | 'windowed' }
  | { op: 'remove'; metric: 'latency' | 'windowed'; route: string }
  | { op: 'exit' };

configure({ processId: process.env.SUMMARY_PROCESS_ID || undefined, livenessTimeoutMs: Number(process.env.SUMMARY_TIMEOUT_MS ?? 2000) });

const summaries = {
  latency: new Summary({ name: 'latency_seconds', help: 'Latency.', labelNames: ['route'], percentiles: LATENCY_PERCENTILES }),
  windowed: new Summary({ name: 'recent_seconds', help: 'Recent latency.', labelNames: ['route'], percentiles: WINDOWED_PERCENTILES, ...WINDOW }),
};

process.on('message', (command: SummaryCommand) => {
  if (command.op === 'observe') {
    const child = summaries[command.metric].labels(command.route);
    for (const value of command.values) child.observe(value);
    process.send!({ ok: true });
  } else if (command.op === 'reset') {
    summaries[command.metric].reset();
    process.send!({ ok: true });
  } else if (command.op === 'remove') {
    summaries[command.metric].remove(command.route);
    process.send!({ ok: true });
  } else {
    process.disconnect();
  }
});
process.send!({ ready: true });
