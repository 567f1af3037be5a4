import { StorageError } from '../errors.js';
import { INITIAL_FILE_SIZE } from '../format/layout.js';
import type { Logger } from '../log.js';
import { HeapBacking } from './backing.js';
import { EntryFile, FILE_FULL, type Region } from './entry-file.js';

/** Whoever holds slots (a metric child) and must follow them when they move. */
export interface SlotOwner {
  rebind(region: Region, slots: readonly number[]): void;
}

export interface Allocation {
  region: Region;
  slots: number[];
}

/** How often a store whose file could not grow tries again. */
const GROWTH_RETRY_MS = 1000;

interface Pending {
  keys: readonly string[];
  slots: number[];
  owner: SlotOwner;
}

/**
 * All series of one file prefix (`counter`, `gauge_livesum`, ...) of this
 * process. The file is created when the first entry is; when it cannot be
 * created or grown (a full disk), new series live in memory, are logged once,
 * and move into the file as soon as a retry succeeds. Series already in the
 * file keep working throughout.
 */
export class SeriesStore {
  private file: EntryFile | undefined;
  private overflow: EntryFile | undefined;
  private pending: Pending[] = [];
  private lastAttempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private reported = false;
  /** Says at exit how many series never reached the file (their values die with the process). */
  private readonly reportLostAtExit = (): void => {
    if (this.pending.length === 0) return;
    this.logger.warn(`exiting with ${this.pending.length} series still waiting in memory for room in ${this.description}: their values are lost`);
  };

  constructor(
    readonly description: string,
    private readonly openFile: () => EntryFile,
    private readonly logger: Logger,
    /** Values of one key from two places add up (format/merge.ts accumulates()); else the later one replaces the earlier. */
    private readonly additive = true,
  ) {}

  /** Slots for `keys` (all entries of one child), reusing entries that exist. */
  allocate(keys: readonly string[], owner: SlotOwner): Allocation {
    if (this.pending.length > 0 && this.retryDue()) this.retry();
    if (this.pending.length === 0) {
      try {
        // Open first: a file this id wrote before already holds some of these keys.
        const file = this.ensureFile();
        return this.find(keys) ?? { region: file, slots: file.append(keys) };
      } catch (err) {
        if (!(err instanceof StorageError)) throw err;
        this.enterOverflow(err);
      }
    }
    const existing = this.find(keys);
    if (existing) return existing;
    this.overflow ??= new EntryFile(new HeapBacking(INITIAL_FILE_SIZE));
    const slots = this.overflow.append(keys);
    this.pending.push({ keys, slots, owner });
    return { region: this.overflow, slots };
  }

  /** The file behind this store once it exists (for tests and in-process collection). */
  get entryFile(): EntryFile | undefined {
    return this.file;
  }

  /** Number of series waiting in memory for room in the file. */
  get pendingSeries(): number {
    return this.pending.length;
  }

  private find(keys: readonly string[]): Allocation | undefined {
    for (const source of [this.file, this.overflow]) {
      if (!source) continue;
      const first = source.slotOf(keys[0]);
      if (first === undefined) continue;
      const slots = keys.map((k) => source.slotOf(k));
      if (!slots.every((s): s is number => s !== undefined)) continue;
      return { region: source, slots };
    }
    return undefined;
  }

  private ensureFile(): EntryFile {
    return (this.file ??= this.openFile());
  }

  private retryDue(): boolean {
    return Date.now() - this.lastAttempt >= GROWTH_RETRY_MS;
  }

  private enterOverflow(err: StorageError): void {
    this.lastAttempt = Date.now();
    if (!this.reported) {
      this.reported = true;
      process.on('exit', this.reportLostAtExit);
      if (err.code === FILE_FULL) {
        this.logger.warn(`${err.message}; new series of ${this.description} are refused (kept in memory, never visible to scrapes); existing series keep counting in the file`);
        return; // no retry can succeed
      }
      const rest = this.file
        ? `and will move into ${err.path} once it can grow; existing series keep counting in the file`
        : `and will move into ${err.path} once it can be created`;
      this.logger.warn(`${err.message}; new series of ${this.description} are kept in memory (not visible to scrapes) ${rest}`);
    }
    if (err.code === FILE_FULL) return;
    if (!this.retryTimer) {
      this.retryTimer = setInterval(() => this.retry(), GROWTH_RETRY_MS);
      this.retryTimer.unref();
    }
  }

  /** Moves every pending series into the file, with its current values, or leaves all of them pending. */
  retry(): boolean {
    if (this.pending.length === 0 || !this.overflow) return true;
    this.lastAttempt = Date.now();
    const overflow = this.overflow;
    let file: EntryFile;
    const missing: string[] = [];
    const missingFrom: number[] = [];
    try {
      file = this.ensureFile();
      for (const p of this.pending) {
        p.keys.forEach((key, i) => {
          if (file.slotOf(key) === undefined) {
            missing.push(key);
            missingFrom.push(p.slots[i]);
          }
        });
      }
      file.append(missing, (i) => [overflow.values[missingFrom[i]], overflow.values[missingFrom[i] + 1]]);
    } catch (err) {
      if (err instanceof StorageError) return false;
      throw err;
    }
    const appended = new Set(missing);
    for (const p of this.pending) {
      const slots = p.keys.map((key, i) => {
        const slot = file.slotOf(key)!;
        if (!appended.has(key)) {
          // The file already had this key (it could not be opened when the series was made):
          // counts add up, a gauge keeps the value set in memory.
          const from = p.slots[i];
          file.values[slot] = this.additive ? file.values[slot] + overflow.values[from] : overflow.values[from];
          file.values[slot + 1] = overflow.values[from + 1];
        }
        return slot;
      });
      p.owner.rebind(file, slots);
    }
    const moved = missing.length;
    this.pending = [];
    this.overflow = undefined;
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = undefined;
    this.reported = false;
    process.off('exit', this.reportLostAtExit);
    this.logger.warn(`${file.where} could grow again; ${moved} entries kept in memory were written to it`);
    return true;
  }
}
