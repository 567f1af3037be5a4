import * as fs from 'node:fs';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { effectiveUid } from './safe-files.js';
import { COMPACTED_ID, isFileId } from '../format/directory-names.js';

/**
 * The process's configuration: configure()'s options, and the one policy by
 * which every part of the library (writers, the registry, compaction, clear,
 * markProcessDead, the CLI and the exporter) finds the multiprocess
 * directory and checks it.
 */

export interface ConfigureOptions {
  /** The multiprocess directory; default PROMETHEUS_MULTIPROC_DIR. */
  dir?: string;
  /** Replaces the pid in file names (Python's process_identifier). Must not contain `_`. */
  processId?: string | number | (() => string | number);
  /** Unix seconds; read once per set() of a mostrecent/livemostrecent gauge. */
  clock?: () => number;
  /** Where survivable problems (a full disk) are reported; default console.warn. */
  logger?: Logger;
  /**
   * How long a writer may go without refreshing its liveness lock before
   * others take it for dead (its live gauges stop being exported); default
   * 10000 ms, at least 2000.
   */
  livenessTimeoutMs?: number;
  /**
   * How counters are named. `prom-client` (default): as declared, so a
   * counter `jobs` is exported as `jobs` in the text format and `jobs_total`
   * in OpenMetrics, as prom-client does. `python`: every counter sample is
   * `<name>_total` in both, as Python's client writes and exports them (for
   * directories shared with Python processes).
   */
  naming?: Naming;
}

export type Naming = 'prom-client' | 'python';
const NAMINGS: readonly string[] = ['prom-client', 'python'];

export const DIR_ENV = 'PROMETHEUS_MULTIPROC_DIR';
/** The name Python's client read before 0.10; still honoured, with a deprecation warning. */
const DEPRECATED_DIR_ENV = 'prometheus_multiproc_dir';

let settings: ConfigureOptions = {};
/** Set once this process writes its values: its files are open, so the options can no longer change. */
let frozen = false;

/** Call before the first metric is used; later calls are refused because files are already open. */
export function configure(options: ConfigureOptions): void {
  if (options.naming !== undefined && !NAMINGS.includes(options.naming)) {
    throw new ConfigError(`naming must be 'prom-client' or 'python', got ${JSON.stringify(options.naming)}`);
  }
  if (options.processId !== undefined && typeof options.processId !== 'function') checkProcessId(options.processId);
  if (frozen) {
    throw new ConfigError('configure() must be called before the first metric is used: this process already writes its values');
  }
  settings = { ...settings, ...options };
}

/** How counters are named (configure()'s naming, default prom-client's). */
export function counterNaming(): Naming {
  return settings.naming ?? 'prom-client';
}

/** The options given to configure() so far. */
export function configuredOptions(): Readonly<ConfigureOptions> {
  return settings;
}

/** Called when this process's storage exists: configure() is refused from then on. */
export function freezeConfiguration(): void {
  frozen = true;
}

/** A processId as file names use it; throws ConfigError for one that would be misread or collide. */
export function checkProcessId(id: unknown): string {
  const text = typeof id === 'number' ? String(id) : id;
  if (typeof text !== 'string' || text === '') throw new ConfigError(`processId must be a non-empty string or number, got ${JSON.stringify(id)}`);
  if (text.includes('_')) {
    throw new ConfigError(`processId ${JSON.stringify(text)} contains "_": file names are split on "_", so the id would be misread`);
  }
  if (!isFileId(text)) throw new ConfigError(`processId ${JSON.stringify(text)} is not usable in a file name (no "/", "\\", NUL, "." or "..")`);
  if (text === COMPACTED_ID) throw new ConfigError(`processId "${COMPACTED_ID}" is reserved for the files compaction accumulates`);
  return text;
}

/** The directory given, else configure()'s, else the environment's; undefined for in-process mode. */
export function resolveDir(explicit?: string): string | undefined {
  if (explicit) return explicit;
  if (settings.dir) return settings.dir;
  const dir = process.env[DIR_ENV];
  if (dir) return dir;
  const deprecated = process.env[DEPRECATED_DIR_ENV];
  if (deprecated) {
    process.emitWarning(`${DEPRECATED_DIR_ENV} is deprecated, use ${DIR_ENV}`, 'DeprecationWarning');
    process.env[DIR_ENV] = deprecated;
    return deprecated;
  }
  return undefined;
}

/**
 * resolveDir() for an operation that needs a directory: throws ConfigError,
 * naming `caller` and how to give one (`how`: the option's name), when there is none.
 */
export function requireDir(explicit: string | undefined, caller: string, how = 'pass dir'): string {
  const dir = resolveDir(explicit);
  if (!dir) throw new ConfigError(`${caller}: no multiprocess directory: ${how} or set ${DIR_ENV}`);
  return dir;
}

/**
 * Throws ConfigError naming the path unless `dir` is an existing directory
 * with `access` (writable by default). With a logger, also says (once) if
 * the directory is open to other users (warnIfExposed).
 */
export function checkDirectory(dir: string, access: number = fs.constants.W_OK, logger?: Logger): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (err) {
    throw new ConfigError(`multiprocess directory ${dir} does not exist (${DIR_ENV})`, dir, { cause: err });
  }
  if (!stat.isDirectory()) throw new ConfigError(`multiprocess directory ${dir} is not a directory (${DIR_ENV})`, dir);
  try {
    fs.accessSync(dir, access);
  } catch (err) {
    const what = access === fs.constants.W_OK ? 'writable' : 'readable';
    throw new ConfigError(`multiprocess directory ${dir} is not ${what} by this process`, dir, { cause: err });
  }
  if (logger) warnIfExposed(dir, logger, stat);
}

const warnedExposed = new Set<string>();

/**
 * Logs once per directory and process when other users can plant files in
 * `dir`: it is writable by everyone without the sticky bit, or it belongs
 * to another user. What they could do then is in docs/security.md.
 */
export function warnIfExposed(dir: string, logger: Logger, stat: fs.Stats = fs.statSync(dir)): void {
  if (warnedExposed.has(dir)) return;
  const uid = effectiveUid();
  let exposure: string | undefined;
  if ((stat.mode & 0o002) !== 0 && (stat.mode & 0o1000) === 0) exposure = 'is writable by every user and has no sticky bit';
  else if (uid !== undefined && stat.uid !== uid) exposure = `belongs to another user than this process's (uid ${uid})`;
  if (!exposure) return;
  warnedExposed.add(dir);
  const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
  logger.warn(
    `multiprocess directory ${dir} (owner uid ${stat.uid}, mode ${mode}) ${exposure}: other users can plant files in it. ` +
      'Give it to the service user with mode 0700 or 0750 (see docs/security.md)',
  );
}
