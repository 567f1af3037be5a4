// The ESM entry re-exports the CommonJS build, so `import` and `require` share one module state
// (one set of open files per process).
export * from './index.js';
// `import promClient from 'prom-multiproc'` (and of prom-client's name when that is an alias of this
// package), as prom-client's default import gets prom-client's module.exports.
export { default } from './index.js';
import moduleItself from './index.js';
// The names the CommonJS entry defines as getters that load their file at first use: node finds a
// CommonJS module's names by reading its source (cjs-module-lexer), which sees none of those, so
// they are named here (reading them loads their files: an ES module import gets every name at once).
export const {
  collectRuntimeMetrics,
  DEFAULT_GC_DURATION_BUCKETS,
  collectDefaultMetrics,
  metricsHandler,
  fastifyMetrics,
  httpMetricsMiddleware,
  fastifyHttpMetrics,
  UNMATCHED_ROUTE,
  ABORTED_STATUS,
  startExporter,
  inspectFile,
  formatInspection,
} = moduleItself;
