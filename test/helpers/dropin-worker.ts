// A writer using only prom-client's API, driven over IPC by test/prom-client-compat.test.ts.
// Env: PROMETHEUS_MULTIPROC_DIR, DROPIN_NAME (this writer's name, a label value).
import { Counter, Gauge, Histogram, configure, register, Registry } from '../../src/index.js';

export type DropinCommand = { op: 'work'; times: number } | { op: 'remove' } | { op: 'clear' };

configure({ livenessTimeoutMs: 2000 });
const name = process.env.DROPIN_NAME!;
const requests = new Counter({ name: 'requests', help: 'Requests.', labelNames: ['route'] });
const latency = new Histogram({ name: 'latency_seconds', help: 'Latency.', buckets: [0.1, 1] });
// prom-client code sets a gauge in collect(); across processes its aggregator chooses the merge.
let collected = 0;
new Gauge({ name: 'queue_depth', help: 'Queue depth.', aggregator: 'sum', collect() { this.set(++collected); } });
new Gauge({ name: 'peak_memory', help: 'Peak.', aggregator: 'max', collect() { this.set(name === 'w1' ? 100 : 50); } });
const tenants = new Counter({ name: 'tenant_jobs_total', help: 'Jobs by tenant.', labelNames: ['tenant'] });
const own = new Registry();
new Counter({ name: 'private_total', help: 'Only in its own registry.', registers: [own] }).inc();

process.on('message', (command: DropinCommand) => {
  if (command.op === 'work') {
    for (let i = 0; i < command.times; i++) {
      requests.inc({ route: '/a' });
      latency.observe(0.5);
    }
    tenants.inc({ tenant: 'gone' }, command.times);
    if (command.times > 0) tenants.inc({ tenant: name });
  } else if (command.op === 'remove') {
    tenants.remove({ tenant: 'gone' });
  } else {
    register.clear();
  }
  process.send!({ ok: true, collected });
});
process.send!({ ready: true });
