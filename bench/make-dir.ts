// Writes a multiprocess directory of the scrape benchmark's workload and
// leaves it behind, for measuring a collector on fixed files (profiling,
// native-notes/experiments): W writer processes, two at a time, each creates
// its S series, touches them once and exits. The writers are gone when it
// finishes, so scrape it with compactThreshold: 0 (a default registry would
// compact the dead writers' files into one).
//
//   node --import tsx bench/make-dir.ts DIR [--workers 64] [--series 10000]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { forkTs, nextMessage } from './lib/processes.js';
import type { WriterSpec } from './lib/workload.js';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { workers: { type: 'string', default: '64' }, series: { type: 'string', default: '10000' } },
  });
  const dir = positionals[0];
  if (!dir) throw new Error('usage: node --import tsx bench/make-dir.ts DIR [--workers 64] [--series 10000]');
  const workers = Number(values.workers);
  const spec: WriterSpec = { series: Number(values.series), updateRate: 1 };
  fs.mkdirSync(dir, { recursive: true });
  if (fs.readdirSync(dir).length > 0) throw new Error(`${dir} is not empty`);
  const writeOne = async (): Promise<void> => {
    const child = forkTs(path.join(__dirname, 'procs', 'ours-worker.ts'), [JSON.stringify(spec)], { env: { PROMETHEUS_MULTIPROC_DIR: path.resolve(dir) } });
    await nextMessage(child, 'ready', 120_000, 'writer');
    // Disconnecting makes the writer exit cleanly (its liveness lock is released).
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.disconnect();
    await exited;
  };
  for (let started = 0; started < workers; started += 2) {
    await Promise.all(Array.from({ length: Math.min(2, workers - started) }, writeOne));
  }
  console.log(`${dir}: ${workers} writers x ${spec.series} series, ${fs.readdirSync(dir).filter((f) => f.endsWith('.db')).length} files`);
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
