// An existing 0-byte file with this process's name (e.g. `touch`, or a Python writer killed
// between open() and truncate()): is it initialised, or do the series stay in memory?
const fs = require('fs');
const os = require('os');
const path = require('path');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'empty-file-'));
fs.writeFileSync(path.join(dir, 'counter_x2.db'), '');
const { configure, Counter } = require('../../dist/index.js');
configure({ dir, processId: 'x2', logger: { warn: (m) => console.log('LOG:', m) } });
new Counter({ name: 'jobs', help: 'h' }).inc();
setTimeout(() => {
  console.log('file size after 1.5 s:', fs.statSync(path.join(dir, 'counter_x2.db')).size);
  fs.rmSync(dir, { recursive: true });
  process.exit(0); // the retry timer is unref'd; exit explicitly anyway
}, 1500);
