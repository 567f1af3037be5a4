// One simulated Python worker of a fixture case, replayed through the public classes:
// argv: <case name> <worker index> <output dir>
import { Counter, Gauge, Histogram, Summary, configure, type GaugeMode } from '../../src/index.js';
import { loadCase, type FixtureOp } from './fixtures.js';

const [caseName, workerIndex, outDir] = process.argv.slice(2);
const fixture = loadCase(caseName);
const worker = fixture.workers[Number(workerIndex)];
const CLOCK_BASE = 1700000000 + (worker.clock ?? 0);
let opIndex = -1;

// Python's naming: a counter declared without _total (the fixtures' `jobs`) writes `jobs_total`, as Python does.
configure({ dir: outDir, processId: worker.pid, clock: () => CLOCK_BASE + opIndex + 1, naming: 'python' });

type AnyMetric = Counter | Gauge | Histogram | Summary;
const metrics = new Map<string, AnyMetric>();
for (const m of fixture.metrics) {
  const common = { name: m.name, help: m.help, labelNames: m.labelNames };
  const metric =
    m.type === 'counter'
      ? new Counter(common)
      : m.type === 'gauge'
        ? new Gauge({ ...common, multiprocessMode: m.mode as GaugeMode })
        : m.type === 'histogram'
          ? new Histogram({ ...common, buckets: m.buckets })
          : new Summary(common);
  metrics.set(m.name, metric);
}

function run(op: FixtureOp): void {
  const metric = metrics.get(op.metric)!;
  const value = op.value ?? 1;
  const child = op.labels ? (metric.labels(op.labels) as unknown as Record<string, (v: number) => void>) : undefined;
  const call = (method: string): void => {
    if (child) child[method](value);
    else (metric as unknown as Record<string, (v: number) => void>)[method](value);
  };
  if (op.op !== 'touch') call(op.op);
}

for (opIndex = 0; opIndex < worker.ops.length; opIndex++) run(worker.ops[opIndex]);
