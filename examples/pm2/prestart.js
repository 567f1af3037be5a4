'use strict';
// The pre-start step of the PM2 example: empties the metrics directory of
// ecosystem.config.js (creates it if missing) before `pm2 start`. Files of an
// earlier run would otherwise be merged into this run's totals. It refuses,
// exit 1, while instances of a running deployment still hold their liveness
// locks: stop them first (pm2 delete ecosystem.config.js).
//
// The same from a shell, in an application: npx prom-multiproc clear --dir DIR
const { clearMultiprocDir } = require('prom-multiproc');
const { apps } = require('./ecosystem.config.js');

const dir = apps[0].env.PROMETHEUS_MULTIPROC_DIR;
try {
  const { removed } = clearMultiprocDir(dir);
  console.log(`cleared ${dir}: ${removed.length} entries removed`);
} catch (err) {
  console.error(`prestart: ${err.message}`);
  process.exit(1);
}
