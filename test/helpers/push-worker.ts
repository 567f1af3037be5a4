// A forked process of the Pushgateway tests; its directory comes from
// PROMETHEUS_MULTIPROC_DIR.
//
//   write SPEC  a writer: counts SPEC (a WriteSpec as JSON) into the files, sends
//               {type: 'written', pid}, then counts each {type: 'add', jobs} it is
//               sent the same way; exits 0 when its parent disconnects
//   push SPEC   a pusher: one call of a Pushgateway built without a registry (the
//               merged directory), SPEC a PushSpec as JSON; sends its PushOutcome
//               and exits
import { Counter, Gauge, Histogram, Pushgateway } from '../../src/index.js';

export interface WriteSpec {
  /** Increments of `jobs` by its `kind` label. */
  jobs: Record<string, number>;
  /** Observations of `job_duration_seconds` (buckets 0.3 and 1). */
  observations: number[];
  /** This process's `queue_length`, a gauge merged by sum. */
  queue: number;
}

export interface PushSpec {
  url: string;
  method: 'pushAdd' | 'push' | 'delete';
  params?: Pushgateway.Parameters;
  options?: Pushgateway.Options;
}

export type PushOutcome =
  | { ok: true; statusCode: number; body: string }
  | { ok: false; name: string; message: string; statusCode?: number; body?: string };

function write(spec: WriteSpec): void {
  const jobs = new Counter({ name: 'jobs_total', help: 'Jobs done.', labelNames: ['kind'] });
  const duration = new Histogram({ name: 'job_duration_seconds', help: 'How long a job took.', buckets: [0.3, 1] });
  const queue = new Gauge({ name: 'queue_length', help: 'Jobs waiting.', multiprocessMode: 'sum' });
  const count = (increments: Record<string, number>): void => {
    for (const [kind, by] of Object.entries(increments)) jobs.inc({ kind }, by);
  };
  count(spec.jobs);
  for (const seconds of spec.observations) duration.observe(seconds);
  queue.set(spec.queue);
  process.on('message', (message: { type?: string; jobs?: Record<string, number> }) => {
    if (message?.type !== 'add') return;
    count(message.jobs ?? {});
    process.send!({ type: 'written', pid: process.pid });
  });
  process.once('disconnect', () => process.exit(0));
  process.send!({ type: 'written', pid: process.pid });
}

async function push(spec: PushSpec): Promise<PushOutcome> {
  const gateway = new Pushgateway(spec.url, spec.options);
  try {
    const { resp, body } = (await gateway[spec.method](spec.params)) as Pushgateway.Result;
    return { ok: true, statusCode: resp.statusCode ?? 0, body };
  } catch (err) {
    const { name, message, statusCode, body } = err as Error & { statusCode?: number; body?: string };
    return { ok: false, name, message, statusCode, body };
  }
}

const [role, spec] = process.argv.slice(2);
if (role === 'write') {
  write(JSON.parse(spec) as WriteSpec);
} else if (role === 'push') {
  void push(JSON.parse(spec) as PushSpec).then((outcome) => process.send!(outcome, () => process.disconnect()));
} else {
  console.error(`push-worker: unknown role ${role}`);
  process.exit(2);
}
