'use strict';
// A batch job run as several processes, which pushes its totals to a
// Prometheus Pushgateway once, at the end: the workers count into the files of
// PROMETHEUS_MULTIPROC_DIR, and the parent pushes the merged view of the
// directory (a worker that died halfway still counts).
//
// Environment: PUSHGATEWAY_URL (default http://127.0.0.1:9091),
// PROMETHEUS_MULTIPROC_DIR (default a new temporary directory), WORKERS
// (default 4).
const { fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

if (process.argv[2] === 'worker') {
  const { Counter } = require('prom-multiproc');
  const records = new Counter({ name: 'import_records_total', help: 'Records imported.', labelNames: ['outcome'] });
  // This worker's share of the batch.
  records.inc({ outcome: 'ok' }, 1000);
  records.inc({ outcome: 'rejected' }, 3);
} else {
  // Before any worker starts: they inherit the directory.
  process.env.PROMETHEUS_MULTIPROC_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'batch-metrics-'));
  const { clearMultiprocDir, Pushgateway } = require('prom-multiproc');
  clearMultiprocDir(); // the files of an earlier run would be pushed too

  const workers = Array.from({ length: Number(process.env.WORKERS ?? 4) }, () => fork(__filename, ['worker']));
  const finished = workers.map((worker) => new Promise((resolve) => worker.on('exit', resolve)));

  Promise.all(finished)
    .then(() => {
      const gateway = new Pushgateway(process.env.PUSHGATEWAY_URL ?? 'http://127.0.0.1:9091', { timeout: 10_000 });
      // push (PUT) replaces what the previous run left in this group; no registry: the merged directory
      return gateway.push({ jobName: 'nightly-import', groupings: { instance: os.hostname() } });
    })
    .then(({ resp }) => console.log(`pushed the totals of ${workers.length} workers: ${resp.statusCode}`))
    .catch((err) => {
      console.error(`push failed: ${err.message}`);
      process.exitCode = 1;
    });
}
