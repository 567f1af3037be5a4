// A forked writer of the concurrency tests: argv[2] is its WorkloadSpec as JSON,
// the directory comes from PROMETHEUS_MULTIPROC_DIR. Once its files have grown
// it sends {type: 'grown'} and waits for {type: 'resume'} before counting on.
import { runWorkload, type WorkloadSpec } from './concurrency-workload.js';

const spec = JSON.parse(process.argv[2]) as WorkloadSpec;

function waitForResume(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: { type?: string }): void => {
      if (message?.type !== 'resume') return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    process.send!({ type: 'grown', pid: process.pid });
  });
}

runWorkload(spec, waitForResume).then(
  () => process.disconnect(),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
