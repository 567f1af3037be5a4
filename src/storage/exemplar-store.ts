import { StorageError } from '../errors.js';
import { clearExemplar, EXEMPLAR_PAYLOAD_BYTES, writeExemplar } from '../format/exemplar-record.js';
import { INITIAL_FILE_SIZE, MAX_USED } from '../format/layout.js';
import type { Logger } from '../log.js';
import { HeapBacking } from './backing.js';
import { EntryFile } from './entry-file.js';

/** Where one series' exemplar is written: an entry's payload, in the file or in memory. */
export interface ExemplarSlot {
  file: EntryFile;
  /** Byte offset of the entry's payload. */
  offset: number;
}

/**
 * This process's exemplars of one file prefix (`counter`, `histogram`):
 * an entry per series that has had one (a counter's sample, a histogram's
 * bucket), keyed as the series' entry in the `.db` file, in
 * `<prefix>_<id>.exdb`. An exemplar is only ever the latest of its series,
 * so a store that cannot create or grow its file keeps new series'
 * exemplars in memory (said once), where no scrape sees them, and moves
 * nothing later: the next exemplar of such a series would replace it anyway.
 */
export class ExemplarStore {
  private file: EntryFile | undefined;
  private memory: EntryFile | undefined;
  private reported = false;

  constructor(
    readonly description: string,
    private readonly openFile: () => EntryFile,
    private readonly logger: Logger,
  ) {}

  /** The slot of the series `key`, made at its first exemplar. */
  slotFor(key: string): ExemplarSlot {
    for (const file of [this.file, this.memory]) {
      const slot = file?.slotOf(key);
      if (slot !== undefined) return { file: file!, offset: slot * 8 };
    }
    try {
      this.file ??= this.openFile();
      return { file: this.file, offset: this.file.append([key])[0] * 8 };
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
      if (!this.reported) {
        this.reported = true;
        this.logger.warn(`${err.message}; exemplars of new series of ${this.description} are kept in memory (not visible to scrapes)`);
      }
      this.memory ??= new EntryFile(new HeapBacking(INITIAL_FILE_SIZE), undefined, MAX_USED, EXEMPLAR_PAYLOAD_BYTES);
      return { file: this.memory, offset: this.memory.append([key])[0] * 8 };
    }
  }
}

/** Writes an exemplar (checked labels) into its slot: it becomes the one readers see. */
export function recordExemplar(slot: ExemplarSlot, labels: Record<string, string | number>, value: number, timestamp: number): void {
  writeExemplar(slot.file.buffer, slot.offset, labels, value, timestamp);
}

/** Clears the slot's exemplar: readers see none until the next one is recorded. */
export function clearRecordedExemplar(slot: ExemplarSlot): void {
  clearExemplar(slot.file.buffer, slot.offset);
}
