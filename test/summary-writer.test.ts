// A summary's quantile buckets in one process of multiprocess mode
// (PROMETHEUS_MULTIPROC_DIR set before any metric): get() gives this
// process's quantiles, reset() and remove() act on the sidecar entries as on
// _count and _sum, percentiles: [] writes no sidecar file, and observe() on
// an existing child allocates nothing. Across processes:
// summary-multiprocess.test.ts.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { MultiprocessRegistry, Summary } from '../src/index.js';
import { SUMMARY_RELATIVE_ERROR } from '../src/format/summary-window.js';
import { exactQuantile } from './helpers/summary-reference.js';
import { collectionsDuring } from './helpers/collections.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-multiproc-summary-'));
process.env.PROMETHEUS_MULTIPROC_DIR = dir;
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let names = 0;
function summary(options: Partial<ConstructorParameters<typeof Summary>[0]> = {}): Summary<string> {
  return new Summary({ name: `summary_${names++}`, help: 'Summary.', registers: [], ...options });
}

function registry(): MultiprocessRegistry {
  return new MultiprocessRegistry({ dir, compactThreshold: 0, logger: { warn: (m) => assert.fail(`unexpected warning: ${m}`) } });
}

/** The sample lines of `name` in a scrape of the directory (numbers as Python's collector writes them). */
async function scraped(name: string): Promise<string[]> {
  return (await registry().metrics()).split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name}_`) || line.startsWith(`${name} `));
}

/** The line of `series` among `lines` has a value within the error bound of `exact`. */
function assertNear(lines: string[], series: string, exact: number): void {
  const line = lines.find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no ${series} in:\n${lines.join('\n')}`);
  const value = Number(line.slice(series.length + 1));
  assert.ok(Math.abs(value - exact) <= SUMMARY_RELATIVE_ERROR * exact * (1 + 1e-12), `${series} is ${value}, exact ${exact}`);
}

describe('summary quantile buckets in one process', () => {
  it("get() gives this process's quantiles, within the error bound, quantile label first", async () => {
    const s = summary({ labelNames: ['m'], percentiles: [0.5, 0.9] });
    const values = Array.from({ length: 999 }, (_, i) => (i + 1) / 10);
    for (const v of values) s.observe({ m: 'a' }, v);
    const got = (await s.get()).values;
    assert.deepEqual(got.map((v) => Object.keys(v.labels)), [['quantile', 'm'], ['quantile', 'm'], ['m'], ['m']]);
    for (const [i, q] of [0.5, 0.9].entries()) {
      assert.equal(got[i].labels.quantile, q);
      const exact = exactQuantile(values, q);
      assert.ok(Math.abs(got[i].value - exact) <= SUMMARY_RELATIVE_ERROR * exact * (1 + 1e-12), `q ${q}: ${got[i].value}, exact ${exact}`);
    }
  });

  it('reset() empties the window and keeps the series; remove() takes it out of the scrape until it observes again', async () => {
    const s = summary({ labelNames: ['m'], percentiles: [0.5] });
    s.observe({ m: 'a' }, 8);
    s.observe({ m: 'b' }, 4);
    assertNear(await scraped(s.name), `${s.name}{quantile="0.5",m="a"}`, 8);
    s.reset();
    assert.deepEqual(await scraped(s.name), [
      `${s.name}{quantile="0.5",m="a"} 0.0`,
      `${s.name}_sum{m="a"} 0.0`,
      `${s.name}_count{m="a"} 0.0`,
      `${s.name}{quantile="0.5",m="b"} 0.0`,
      `${s.name}_sum{m="b"} 0.0`,
      `${s.name}_count{m="b"} 0.0`,
    ]);
    s.observe({ m: 'a' }, 2);
    s.remove({ m: 'b' });
    const lines = await scraped(s.name);
    assert.equal(lines.length, 3, lines.join('\n'));
    assertNear(lines, `${s.name}{quantile="0.5",m="a"}`, 2);
    s.observe({ m: 'b' }, 16);
    assertNear(await scraped(s.name), `${s.name}{quantile="0.5",m="b"}`, 16);
  });

  it('percentiles: [] keeps only _count and _sum, and no sidecar entry', async () => {
    const s = summary({ percentiles: [] });
    s.observe(3);
    assert.deepEqual(await scraped(s.name), [`${s.name}_sum 3.0`, `${s.name}_count 1.0`]);
    const sidecar = fs.readdirSync(dir).find((f) => f.endsWith('.nhdb'));
    if (sidecar) assert.ok(!fs.readFileSync(path.join(dir, sidecar)).includes(s.name), 'no entry of a summary without percentiles');
  });

  it('observe on an existing child without allocating, with and without a window', async () => {
    const values = new Float64Array(64);
    for (let i = 0; i < 64; i++) values[i] = Math.exp(i / 8 - 4) * (i % 7 === 0 ? -1 : 1) * (i % 11 === 0 ? 0 : 1);
    const plain = summary({ labelNames: ['m'] }).labels('a');
    const windowed = summary({ labelNames: ['m'], maxAgeSeconds: 600, ageBuckets: 5 }).labels('a');
    // One loop per child, as a service calls observe(): each is optimised with the whole observe() inlined.
    const loops = [
      (n: number): void => {
        for (let i = 0; i < n; i++) plain.observe(values[i & 63]);
      },
      (n: number): void => {
        for (let i = 0; i < n; i++) windowed.observe(values[i & 63]);
      },
    ];
    for (const loop of loops) {
      // Every bucket made and the loop optimised: TurboFan compiles concurrently, so the loop runs again once it had time to finish.
      for (let warm = 0; warm < 3; warm++) {
        loop(200000);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // 16 bytes an observation would be 48 MB: several collections.
      assert.deepEqual(await collectionsDuring(() => loop(3_000_000)), [], `loop ${loops.indexOf(loop)}`);
    }
    assert.equal(plain.count, 3_600_000);
  });
});
