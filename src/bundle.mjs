// The second step of `npm run build`, after tsc (a build script, not part of the library: it sits in
// src/ because the project keeps its top level to the folders the guide names): dist/index.js (the package's
// CommonJS entry) becomes one file holding it and every file of dist/ it
// requires. A fresh process then reads and compiles one file instead of
// some 70, which is most of what requiring the package costs it (start-up
// benchmark, docs/benchmarks.md). Dependencies stay outside (required from
// node_modules as before); the surfaces that index.js requires at their first
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

await build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  footer: { js: lexerNames },
  logLevel: 'warning',
});
