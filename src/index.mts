// The ESM entry re-exports the CommonJS build, so `import` and `require` share one module state
// (one set of open files per process).
export * from './index.js';
// `import promClient from 'prom-multiproc'` (and of prom-client's name when that is an alias of this
// package), as prom-client's default import gets prom-client's module.exports.
export { default } from './index.js';
