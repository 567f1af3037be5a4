// The ESM entry re-exports the CommonJS build, so `import` and `require` share one module state
// (one set of open files per process).
export * from './index.js';
// `import promClient from 'prom-multiproc'` (and from 'prom-client' when it is an alias of this
// package), as `import promClient from 'prom-client'` gets prom-client's module.exports.
export { default } from './index.js';
