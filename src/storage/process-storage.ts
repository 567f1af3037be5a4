import * as fs from 'node:fs';
import * as path from 'node:path';
import { StorageError } from '../errors.js';
import { exemplarFileName, metricsFileName, parseMetricsFileName, prefixType, type ExemplarPrefix, type FilePrefix } from '../format/directory-names.js';
import { EXEMPLAR_PAYLOAD_BYTES } from '../format/exemplar-record.js';
import { MAX_USED } from '../format/layout.js';
import { consoleLogger, type Logger } from '../log.js';
import { HeapBacking, MappedFileBacking } from './backing.js';
import { EntryFile, emptyFileImage } from './entry-file.js';
import { SeriesStore } from './series-store.js';
import { ExemplarStore } from './exemplar-store.js';
import { isRealDirectory, isRegularFile } from './safe-files.js';
import { readJournal } from './journal.js';
import { accumulates, carryOver } from '../format/merge.js';
import { checkDirectory, checkProcessId, configuredOptions, freezeConfiguration, resolveDir } from './config.js';
import { effectiveLivenessTimeout, lockPath, markerPath, writeMarker } from './liveness.js';
import { claimIdOrFallBack, defaultProcessId } from './writer-id.js';

let current: ProcessStorage | undefined;

/** A directory's device and inode: a directory deleted and made again is another one. */
function directoryIdentity(dir: string): string {
  const stat = fs.statSync(dir);
  return `${stat.dev}:${stat.ino}`;
}

/** This process's (this thread's) files, or its in-memory stand-ins when no directory is set. */
export class ProcessStorage {
  /** By file name. */
  private readonly stores = new Map<string, SeriesStore>();
  private readonly exemplarStores = new Map<string, ExemplarStore>();
  private directory: string | undefined;
  private directoryGoneReported = false;

  constructor(
    readonly dir: string | undefined,
    readonly id: string,
    /** configure()'s clock for mostrecent gauges; undefined: the system's (Date.now). */
    readonly clock: (() => number) | undefined,
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
      const parsed = parseMetricsFileName(name)!;
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

  /**
   * Where a new metric's series go. With a directory: the one file of this
   * process for `prefix`, shared by every metric of that prefix. Without
   * one (or `inMemory`): a store of the metric's own in memory, so that two
   * metrics of one name (in two registries, or made again after
   * register.clear()) keep separate values, as in prom-client. `native`:
   * the store of the native buckets of `prefix` (its `.nhdb` file).
   */
  storeFor(prefix: FilePrefix, inMemory = false, native = false): SeriesStore {
    if (!this.dir || inMemory) {
      const what = native ? `${prefix} native bucket` : prefix;
      return new SeriesStore(`in-memory ${what} store`, () => new EntryFile(new HeapBacking(MEMORY_STORE_SIZE)), this.logger, accumulates(prefixType(prefix)));
    }
    const name = metricsFileName(prefix, this.id, native);
    let store = this.stores.get(name);
    if (!store) {
      const file = path.join(this.dir, name);
      const open = (): EntryFile => {
        const { backing, existing } = MappedFileBacking.open(file, emptyFileImage());
        return new EntryFile(backing, existing);
      };
      store = new SeriesStore(file, open, this.logger, accumulates(prefixType(prefix)));
      this.stores.set(name, store);
    }
    return store;
  }

  /**
   * The store of this process's exemplars of `prefix` (its `.exdb` file);
   * undefined without a directory, where a metric keeps its exemplars itself.
   */
  exemplarStoreFor(prefix: ExemplarPrefix): ExemplarStore | undefined {
    if (!this.dir) return undefined;
    const name = exemplarFileName(prefix, this.id);
    let store = this.exemplarStores.get(name);
    if (!store) {
      const file = path.join(this.dir, name);
      store = new ExemplarStore(
        file,
        () => {
          const { backing, existing } = MappedFileBacking.open(file, emptyFileImage());
          return new EntryFile(backing, existing, MAX_USED, EXEMPLAR_PAYLOAD_BYTES);
        },
        this.logger,
      );
      this.exemplarStores.set(name, store);
    }
    return store;
  }
}

/** A metric's own in-memory store starts small (one unlabelled counter takes about 100 bytes) and grows as a file would. */
const MEMORY_STORE_SIZE = 1024;

/** The storage of this process, set up at the first metric use from configure() and the environment. */
export function processStorage(): ProcessStorage {
  if (current) return current;
  const settings = configuredOptions();
  const dir = resolveDir();
  const logger = settings.logger ?? consoleLogger;
  if (dir) checkDirectory(dir, fs.constants.W_OK, logger);
  const configured = settings.processId;
  const preferred = configured === undefined ? defaultProcessId() : checkProcessId(typeof configured === 'function' ? configured() : configured);
  const timeoutMs = effectiveLivenessTimeout(settings.livenessTimeoutMs);
  const claimed = dir ? claimIdOrFallBack(dir, preferred, timeoutMs, logger) : { id: preferred, marked: false };
  current = new ProcessStorage(dir, claimed.id, settings.clock, logger, claimed.marked ? timeoutMs : undefined);
  freezeConfiguration();
  return current;
}

/** The current storage if a metric has been used, without creating one. */
export function existingProcessStorage(): ProcessStorage | undefined {
  return current;
}
