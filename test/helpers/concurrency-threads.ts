// A process whose main thread and `threads` worker threads all count into the
// directory of PROMETHEUS_MULTIPROC_DIR: argv[2] is the WorkloadSpec as JSON,
// argv[3] the number of threads. Sends {type: 'result', pid, threadIds}.
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { runWorkload, type WorkloadSpec } from './concurrency-workload.js';

// Worker threads do not inherit the tsx loader that `--import tsx` set up for
// the main thread, so each thread registers tsx's require hook itself.
function startThread(spec: WorkloadSpec): Worker {
  const bootstrap = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(__filename)});`;
  return new Worker(bootstrap, { eval: true, workerData: spec });
}

function finished(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`thread ${worker.threadId} exited with code ${code}`))));
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as WorkloadSpec;
  const threads = Number(process.argv[3]);
  const workers = Array.from({ length: threads }, () => startThread(spec));
  const threadIds = workers.map((w) => w.threadId);
  await Promise.all([runWorkload(spec), ...workers.map(finished)]);
  process.send!({ type: 'result', pid: process.pid, threadIds }, () => process.disconnect());
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  runWorkload(workerData as WorkloadSpec).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
