/**
 * A metrics-writing process for test/full-disk.test.ts, driven over IPC so
 * the parent can fill or free the disk between steps. It writes into
 * PROMETHEUS_MULTIPROC_DIR like any application would.
 *
 * `jobs_total{kind="old"}` and `latency{route="/old"}` are made while the
 * disk still has room; the new series follow full-disk-series.ts.
 *
 * FULL_DISK_LOGGER=ipc collects the library's warnings and returns them with
 * every reply; otherwise the default logger writes them to stderr.
 */
import { Counter, Histogram, configure } from '../../src/index.js';
import { HISTOGRAM_EVERY, observationFor } from './full-disk-series.js';

export type WorkerCommand =
  | { op: 'createExisting' }
  | { op: 'addSeries'; from: number; to: number }
  | { op: 'bumpExisting' }
  | { op: 'bumpSeries'; from: number; to: number }
  | { op: 'ownValues' }
  | { op: 'finish' };

/** What this process itself sees through get(): its counters by kind, its histograms by route. */
export interface OwnValues {
  jobs: Record<string, number>;
  latency: Record<string, { count: number; sum: number }>;
}

export interface WorkerReply {
  op: WorkerCommand['op'];
  warnings: string[];
  own?: OwnValues;
}

const warnings: string[] = [];
if (process.env.FULL_DISK_LOGGER === 'ipc') configure({ logger: { warn: (message) => warnings.push(message) } });

let jobs: Counter<'kind'> | undefined;
let latency: Histogram<'route'> | undefined;

function metrics(): { jobs: Counter<'kind'>; latency: Histogram<'route'> } {
  if (!jobs || !latency) throw new Error('createExisting must come first');
  return { jobs, latency };
}

function touchSeries(from: number, to: number): void {
  const m = metrics();
  for (let i = from; i < to; i++) {
    m.jobs.inc({ kind: `new-${i}` }, i + 1);
    if (i % HISTOGRAM_EVERY === 0) m.latency.observe({ route: `/new-${i}` }, observationFor(i));
  }
}

async function ownValues(): Promise<OwnValues> {
  const m = metrics();
  const own: OwnValues = { jobs: {}, latency: {} };
  for (const v of (await m.jobs.get()).values) own.jobs[String(v.labels.kind)] = v.value;
  for (const v of (await m.latency.get()).values) {
    const named = v as typeof v & { metricName?: string };
    const route = String(v.labels.route);
    const entry = (own.latency[route] ??= { count: 0, sum: 0 });
    if (named.metricName === 'latency_count') entry.count = v.value;
    if (named.metricName === 'latency_sum') entry.sum = v.value;
  }
  return own;
}

async function handle(command: WorkerCommand): Promise<WorkerReply> {
  const reply: WorkerReply = { op: command.op, warnings };
  switch (command.op) {
    case 'createExisting':
      jobs = new Counter({ name: 'jobs_total', help: 'Jobs done.', labelNames: ['kind'] });
      latency = new Histogram({ name: 'latency', help: 'Request latency.', labelNames: ['route'], buckets: [0.1, 1] });
      jobs.inc({ kind: 'old' }, 5);
      latency.observe({ route: '/old' }, 0.05);
      break;
    case 'addSeries':
      touchSeries(command.from, command.to);
      break;
    case 'bumpExisting':
      metrics().jobs.inc({ kind: 'old' }, 7);
      metrics().latency.observe({ route: '/old' }, 0.5);
      break;
    case 'bumpSeries':
      for (let i = command.from; i < command.to; i++) {
        metrics().jobs.inc({ kind: `new-${i}` }, 1);
        if (i % HISTOGRAM_EVERY === 0) metrics().latency.observe({ route: `/new-${i}` }, observationFor(i));
      }
      break;
    case 'ownValues':
      reply.own = await ownValues();
      break;
    case 'finish':
      break;
  }
  return reply;
}

process.on('message', (command: WorkerCommand) => {
  handle(command).then(
    (reply) => {
      process.send!(reply, () => {
        // Leaving the event loop empty (no exit() call) also shows the library keeps no process alive.
        if (command.op === 'finish') process.disconnect();
      });
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
