// The ESM entry re-exports the CommonJS build, so `import` and `require` share one module state
// (one set of open files per process).
export * from './index.js';
