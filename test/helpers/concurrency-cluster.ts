// A node:cluster primary: forks argv[3] workers that each run
// concurrency-worker.ts with the WorkloadSpec in argv[2], scrapes the
// directory of PROMETHEUS_MULTIPROC_DIR in a loop while they count (every
// scrape checked by ScrapeChecker), and once all have exited sends
// {type: 'result', workerPids, scrapes, grown, final, warnings}, or
// {type: 'error', message} when a check failed.
import cluster, { type Worker } from 'node:cluster';
import * as path from 'node:path';
import { MultiprocessRegistry } from '../../src/index.js';
import { ScrapeChecker, ScrapeLoop } from './concurrency-checks.js';

function exited(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`cluster worker ${worker.process.pid} exited with code ${code}, signal ${signal}`)),
    );
  });
}

async function main(): Promise<void> {
  const specText = process.argv[2];
  const workerCount = Number(process.argv[3]);
  const warnings: string[] = [];
  const registry = new MultiprocessRegistry({ compactThreshold: 0, logger: { warn: (message) => warnings.push(message) } });
  const loop = new ScrapeLoop(registry, new ScrapeChecker(new Set(), warnings));
  let grown = 0;

  cluster.setupPrimary({ exec: path.join(__dirname, 'concurrency-worker.ts'), args: [specText], execArgv: ['--import', 'tsx'] });
  const workers = Array.from({ length: workerCount }, () => cluster.fork());
  for (const worker of workers) {
    worker.on('message', (message: { type?: string }) => {
      if (message?.type !== 'grown') return;
      grown++;
      void loop.nextScrape().then(() => {
        if (worker.isConnected()) worker.send({ type: 'resume' });
      });
    });
  }
  const running = loop.run();
  try {
    await Promise.race([Promise.all(workers.map(exited)), running.then(() => Promise.reject(new Error('the scrape loop stopped early')))]);
  } finally {
    loop.stop();
    for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGKILL');
  }
  await running;
  const final = await registry.metrics();
  loop.checker.check(final);
  const result = { type: 'result', workerPids: workers.map((w) => w.process.pid), scrapes: loop.checker.scrapes, grown, final, warnings };
  process.send!(result, () => process.disconnect());
}

main().catch((err: unknown) => {
  process.send!({ type: 'error', message: (err as Error).stack ?? String(err) }, () => process.exit(1));
});
