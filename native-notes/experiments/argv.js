// node-pre-gyp parses process.argv when @riaskov/mmap-io is first required.
// usage: node argv.js [args...]   e.g. node argv.js metrics --dir /tmp/x
// Then the library's own loader (src/storage/mmap.ts) with the same argv.
const fs = require('fs');
const os = require('os');
const path = require('path');
const mode = process.env.NN_VIA_LIBRARY ? 'library' : 'raw require';
try {
  if (mode === 'raw require') require('@riaskov/mmap-io');
  else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argv-'));
    const { configure, Counter } = require('../../dist/index.js');
    configure({ dir });
    new Counter({ name: 'jobs', help: 'h' }).inc();
    console.log('files:', fs.readdirSync(dir).join(' '));
    fs.rmSync(dir, { recursive: true });
  }
  console.log(mode, 'with argv', JSON.stringify(process.argv.slice(2)), '-> loaded');
} catch (e) {
  console.log(mode, 'with argv', JSON.stringify(process.argv.slice(2)), '->', e.code, e.message.split('\n')[0]);
}
