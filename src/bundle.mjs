// The second step of `npm run build`, after tsc (a build script, not part of the library: it sits in
// src/ because the project keeps its top level to the folders the guide names): dist/index.js (the package's
// CommonJS entry) becomes one file holding it and every file of dist/ it
// requires. A fresh process then reads and compiles one file instead of
// some 70, which is most of what requiring the package costs it (start-up
// benchmark, docs/benchmarks.md). Dependencies stay outside (required from
// node_modules), except proper-lockfile and its own (see
// `dependencies` below); the surfaces that index.js requires at their first
// use are in the bundle and still run only then. The other files of dist/
// stay as tsc wrote them: the CLI runs from them, and they carry the types.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

// Node finds the names an ES module may import from a CommonJS file by
// reading its source (cjs-module-lexer), and a getter defined in a loop (the
// surfaces loaded at first use, src/index.ts) is not among what it reads; so
// the bundle ends with every name of the entry's exports in a form the lexer
// reads and that never runs (as esbuild itself writes for an ES module entry).
const names = Object.keys(createRequire(import.meta.url)(entry)).filter((name) => name !== 'default');
const lexerNames = `0 && (module.exports = { ${names.join(', ')} });`;

/**
 * proper-lockfile is required when a process takes its first lock, that is
 * at the first metric use with a directory: inside the bundle it costs that
 * process one evaluated closure instead of some ten files found and read in
 * node_modules. Its default file system, graceful-fs, is never used (every
 * lock is taken with ours, storage/safe-files.ts lockFileSystem()), so it is
 * node:fs here: loading graceful-fs costs some 6 ms and patches
 * process.cwd. Loading proper-lockfile from node_modules takes about 11 ms,
 * from the bundle about 3.4 ms.
 */
const VENDORED = new Set(['proper-lockfile', 'retry', 'signal-exit']);
const dependencies = {
  name: 'dependencies',
  setup(bundler) {
    bundler.onResolve({ filter: /^graceful-fs$/ }, () => ({ path: 'graceful-fs', namespace: 'node-fs' }));
    bundler.onLoad({ filter: /.*/, namespace: 'node-fs' }, () => ({ contents: "module.exports = require('node:fs');", loader: 'js' }));
    bundler.onResolve({ filter: /^[^./]/ }, (args) => (VENDORED.has(args.path.split('/')[0]) ? undefined : { external: true }));
  },
};

await build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  plugins: [dependencies],
  sourcemap: 'linked',
  footer: { js: lexerNames },
  logLevel: 'warning',
});
