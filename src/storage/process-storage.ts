import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import { ConfigError, StorageError } from '../errors.js';
import { INITIAL_FILE_SIZE } from '../format/layout.js';
import { dbFileName, isFileId, parseDbFileName, type FilePrefix } from '../format/names.js';
import { consoleLogger, type Logger } from '../log.js';
import { HeapBacking, MappedFileBacking } from './backing.js';
import { EntryFile, emptyFileImage } from './entry-file.js';
import { SeriesStore } from './series-store.js';
import { effectiveUid, isRealDirectory, isRegularFile } from './safe-files.js';
import { carryOver, compactLocked, readJournal, withDirectoryLock } from './compaction.js';
import { COMPACTED_ID, effectiveLivenessTimeout, filesOfId, lockPath, markerPath, tryLockId, writeMarker } from './liveness.js';

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
}

export const DIR_ENV = 'PROMETHEUS_MULTIPROC_DIR';
const DEPRECATED_DIR_ENV = 'prometheus_multiproc_dir';

let settings: ConfigureOptions = {};
let current: ProcessStorage | undefined;

/** Call before the first metric is used; later calls are refused because files are already open. */
export function configure(options: ConfigureOptions): void {
  if (options.processId !== undefined && typeof options.processId !== 'function') checkProcessId(options.processId);
  if (current) {
    throw new ConfigError('configure() must be called before the first metric is used: this process already writes its values');
  }
  settings = { ...settings, ...options };
}

function checkProcessId(id: unknown): string {
  const text = typeof id === 'number' ? String(id) : id;
  if (typeof text !== 'string' || text === '') throw new ConfigError(`processId must be a non-empty string or number, got ${JSON.stringify(id)}`);
  if (text.includes('_')) {
    throw new ConfigError(`processId ${JSON.stringify(text)} contains "_": file names are split on "_", so the id would be misread`);
  }
  if (!isFileId(text)) throw new ConfigError(`processId ${JSON.stringify(text)} is not usable in a file name (no "/", "\\", NUL, "." or "..")`);
  if (text === COMPACTED_ID) throw new ConfigError(`processId "${COMPACTED_ID}" is reserved for the files compaction accumulates`);
  return text;
}

/** The directory from configure() or the environment, or undefined for in-process mode. */
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

/** The pid, with the thread id for worker threads: two isolates of one process must never share a file. */
function defaultProcessId(): string {
  return threadId === 0 ? String(process.pid) : `${process.pid}-t${threadId}`;
}

/** A directory's device and inode: a directory deleted and made again is another one. */
function directoryIdentity(dir: string): string {
  const stat = fs.statSync(dir);
  return `${stat.dev}:${stat.ino}`;
}

/** This process's (this thread's) files, or its in-memory stand-ins when no directory is set. */
export class ProcessStorage {
  private readonly stores = new Map<FilePrefix, SeriesStore>();
  private directory: string | undefined;
  private directoryGoneReported = false;

  constructor(
    readonly dir: string | undefined,
    readonly id: string,
    readonly clock: () => number,
    readonly logger: Logger,
    /** The liveness timeout written in this process's marker; undefined when it writes without one. */
    private readonly markerTimeoutMs?: number,
  ) {
    if (!dir) return;
    this.directory = directoryIdentity(dir);
    // As often as the liveness lock is refreshed: a file put back later than that is a file scrapes missed.
    const every = Math.max(1000, Math.floor(effectiveLivenessTimeout(markerTimeoutMs) / 4));
    setInterval(() => this.restoreIfGone(), every).unref();
  }

  /**
   * Puts this process's files and marker back when they are gone: deleted,
   * or the directory removed and made again (a deploy clearing it). They get
   * the current values, except files that compaction took while this process
   * was taken for dead (the accumulated files hold their values): those
   * start again from zero, so nothing is counted twice.
   */
  restoreIfGone(): void {
    const dir = this.dir!;
    let identity: string;
    try {
      identity = directoryIdentity(dir);
    } catch {
      if (!this.directoryGoneReported) {
        this.logger.warn(`multiprocess directory ${dir} is gone; this process keeps its values and writes them again once the directory is back`);
      }
      this.directoryGoneReported = true;
      return;
    }
    this.directoryGoneReported = false;
    const replaced = identity !== this.directory;
    this.directory = identity;
    const gone = [...this.stores.values()].filter((store) => store.entryFile && !store.entryFile.inPlace());
    const markerGone = this.markerTimeoutMs !== undefined && !isRegularFile(markerPath(dir, this.id));
    if (!replaced && gone.length === 0 && !markerGone) return;
    const compactedAway = new Set(replaced ? [] : (readJournal(dir).journal?.remove ?? []));
    const restored: string[] = [];
    const restarted: string[] = [];
    for (const store of gone) {
      const file = store.entryFile!;
      const name = path.basename(file.where);
      // Values compaction added into the accumulated files must not be added again; the others
      // (per-process gauges it dropped, min, max and most recent ones) come back as they are.
      const parsed = parseDbFileName(name)!;
      const zeroed = compactedAway.has(name) && carryOver(parsed.type, parsed.mode) === 'sum';
      try {
        const image = file.image(zeroed);
        const { backing, existing } = MappedFileBacking.open(file.where, image);
        if (!existing.equals(image.subarray(0, existing.length))) {
          backing.close();
          throw new StorageError(`another file took the place of ${file.where}`, file.where);
        }
        file.moveTo(backing);
      } catch (err) {
        this.logger.warn(`cannot write ${file.where} again: ${(err as Error).message}; this process's values in it are not visible to scrapes`);
        continue;
      }
      (zeroed ? restarted : restored).push(name);
    }
    if (restored.length > 0) {
      this.logger.warn(
        `${restored.join(', ')} in ${dir} ${restored.length === 1 ? 'was' : 'were'} gone (${replaced ? 'the directory was made again' : 'deleted'}); ` +
          "written again with this process's current values",
      );
    }
    if (restarted.length > 0) {
      this.logger.warn(
        `${restarted.join(', ')} in ${dir} ${restarted.length === 1 ? 'was' : 'were'} compacted away while this process was alive ` +
          '(taken for dead: its liveness lock was not refreshed, a blocked event loop?); their values until then are in the accumulated files, ' +
          'and they count on from 0 in new files',
      );
    }
    // The marker says "judge this id by its lock", so it comes back only with the lock, which
    // proper-lockfile takes again within a liveness timeout: an id without a marker counts as
    // alive, so nothing compacts the files just put back meanwhile.
    if (markerGone && isRealDirectory(lockPath(dir, this.id))) {
      try {
        writeMarker(dir, this.id, this.markerTimeoutMs!);
      } catch (err) {
        this.logger.warn(`cannot write the liveness marker of ${this.id} in ${dir} again: ${(err as Error).message}`);
      }
    }
  }

  store(prefix: FilePrefix): SeriesStore {
    let store = this.stores.get(prefix);
    if (!store) {
      const dir = this.dir;
      const file = dir ? path.join(dir, dbFileName(prefix, this.id)) : undefined;
      const open = file
        ? () => {
            const { backing, existing } = MappedFileBacking.open(file, emptyFileImage());
            return new EntryFile(backing, existing);
          }
        : () => new EntryFile(new HeapBacking(INITIAL_FILE_SIZE));
      store = new SeriesStore(file ?? `in-memory ${prefix} store`, open, this.logger, !file, !prefix.startsWith('gauge'));
      this.stores.set(prefix, store);
    }
    return store;
  }

  /** The in-memory stores of a process without a directory, for in-process collection. */
  memoryStores(): Array<[FilePrefix, SeriesStore]> {
    return this.dir ? [] : [...this.stores];
  }
}

/** The storage of this process, set up at the first metric use from configure() and the environment. */
export function processStorage(): ProcessStorage {
  if (current) return current;
  const dir = resolveDir();
  const logger = settings.logger ?? consoleLogger;
  if (dir) checkDirectory(dir, fs.constants.W_OK, logger);
  const configured = settings.processId;
  const preferred = configured === undefined ? defaultProcessId() : checkProcessId(typeof configured === 'function' ? configured() : configured);
  const timeoutMs = effectiveLivenessTimeout(settings.livenessTimeoutMs);
  const claimed = dir ? claimIdOrFallBack(dir, preferred, timeoutMs, logger) : { id: preferred, marked: false };
  current = new ProcessStorage(dir, claimed.id, settings.clock ?? (() => Date.now() / 1000), logger, claimed.marked ? timeoutMs : undefined);
  return current;
}

/** Liveness is worth having, not worth failing for: a full disk cannot take a lock directory. */
function claimIdOrFallBack(dir: string, preferred: string, timeoutMs: number, logger: Logger): { id: string; marked: boolean } {
  try {
    return { id: claimId(dir, preferred, timeoutMs, logger), marked: true };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    logger.warn(`cannot take the liveness lock for ${preferred} in ${dir} (${(err as Error).message}); this process writes without one and counts as alive until markProcessDead`);
    return { id: preferred, marked: false };
  }
}

/**
 * Takes a file id for this process's life: the preferred one, or, while a
 * live writer (or one dead too recently to tell) holds it, the first free
 * `<preferred>-<n>`. Files of a dead earlier life of the id are compacted
 * first, so a new life never inherits old gauges.
 */
function claimId(dir: string, preferred: string, timeoutMs: number, logger: Logger): string {
  for (let n = 1; n <= 1000; n++) {
    const id = n === 1 ? preferred : `${preferred}-${n}`;
    const release = tryLockId(dir, id, timeoutMs, logger);
    if (!release) continue;
    const leftovers = isRegularFile(markerPath(dir, id)) && filesOfId(dir, id).length > 0;
    if (leftovers) {
      const result = withDirectoryLock(dir, (lock) => compactLocked(dir, lock, { claimed: [id], logger }));
      if (!result || filesOfId(dir, id).length > 0) {
        release();
        continue;
      }
    }
    try {
      writeMarker(dir, id, timeoutMs);
    } catch (err) {
      release();
      throw err;
    }
    if (id !== preferred) logger.warn(`file id ${preferred} in ${dir} is held by another writer; this process writes as ${id}`);
    return id;
  }
  throw new ConfigError(`no free file id derived from ${preferred} in ${dir}`, dir);
}

/** The current storage if a metric has been used, without creating one. */
export function existingProcessStorage(): ProcessStorage | undefined {
  return current;
}
