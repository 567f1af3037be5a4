import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileFormatError, UnsafeFileError } from '../errors.js';
import { COMPACTED_ID, filePrefix, installingName, metricsFileName, parseMetricsFileName, writerIds, type FilePrefix } from '../format/directory-names.js';
import { decodeEntryKey, decodeNativeEntryKey, decodeSummaryEntryKey } from '../format/key.js';
import { HEADER_SIZE, INITIAL_FILE_SIZE, entrySize, grownSize, walkEntries, writeEntry, writeUsed } from '../format/layout.js';
import { carryOver, carryOverSidecar, mergeInto, WITHDRAWN, type CarriedRule, type StoredValue } from '../format/merge.js';
import { inWindow, windowEpoch, type SummaryWindow } from '../format/summary-window.js';
import { compareText, type MetricType } from '../format/names.js';
import { consoleLogger, printableLogger, type Logger } from '../log.js';
import { requireDir } from './config.js';
import { DIRECTORY_LOCK_STALE_MS, withDirectoryLock, type DirectoryLock } from './directory-lock.js';
import { readFileImage } from './file-image.js';
import { faultPoint, finishJournal, readJournal, setJournalAside, writeJournal, type Journal } from './journal.js';
import { markerPath, writerState } from './liveness.js';
import { randomToken } from './random-token.js';
import { createExclusive, entryKind } from './safe-files.js';
import { removeRegularFile } from './safe-removal.js';

/**
 * Compaction merges the files of dead writers into accumulated files
 * (`<prefix>_compacted.db`, readable by Python too) and removes them, so a
 * directory stays bounded however many workers come and go. It is crash
 * safe through the journal (journal.ts), and one runs at a time per
 * directory (directory-lock.ts).
 */

/** A writer must be silent this many of its liveness timeouts before its files are compacted away. */
export const COMPACTION_GRACE = 2;

interface Accumulated extends StoredValue {
  key: Buffer;
  /** The entry's own rule, where the entries of one file merge by different rules (summary quantile buckets and extremes). */
  rule?: CarriedRule;
}

/**
 * Raw keys already decoded and found good, per file type (and `native` for
 * sidecar files), with the entry's own rule if it has one: the writers of a
 * service share their keys, so each is checked once per compaction.
 */
type CheckedKeys = Map<string, Map<string, CarriedRule | undefined>>;

/**
 * Decodes and checks one key of a file of `type` (`native`: its sidecar
 * file), as the collector does; returns the entry's own rule, if it has one.
 * Throws FileFormatError.
 */
function checkKey(buf: Buffer, entry: { keyStart: number; keyEnd: number; offset: number }, type: MetricType, native: boolean): CarriedRule | undefined {
  if (!native) decodeEntryKey(buf, entry.keyStart, entry.keyEnd, entry.offset, type);
  else if (type === 'summary') return carryOverSidecar(type, decodeSummaryEntryKey(buf, entry.keyStart, entry.keyEnd, entry.offset).entry.kind);
  else decodeNativeEntryKey(buf, entry.keyStart, entry.keyEnd, entry.offset);
  return undefined;
}

/**
 * Every entry of a file whose name says it holds `type` (`native`: native
 * histogram or summary quantile buckets), each key checked as the collector checks it: a bad key
 * carried into an accumulated file would make every scrape skip that file.
 * Throws FileFormatError.
 */
function entriesOf(file: string, type: MetricType, native: boolean, checked: CheckedKeys): Array<[rawKey: string, entry: Accumulated]> {
  const { buf, used } = readFileImage(file);
  const kind = native ? `${type} native` : type;
  let good = checked.get(kind);
  if (!good) checked.set(kind, (good = new Map()));
  const entries: Array<[string, Accumulated]> = [];
  walkEntries(buf, used, (entry) => {
    const rawKey = buf.toString('latin1', entry.keyStart, entry.keyEnd);
    if (!good.has(rawKey)) good.set(rawKey, checkKey(buf, entry, type, native));
    const rule = good.get(rawKey);
    entries.push([
      rawKey,
      {
        key: Buffer.from(buf.subarray(entry.keyStart, entry.keyEnd)),
        value: buf.readDoubleLE(entry.valueOffset),
        timestamp: buf.readDoubleLE(entry.valueOffset + 8),
        ...(rule ? { rule } : {}),
      },
    ]);
  });
  return entries;
}

function combine(into: Map<string, Accumulated>, rawKey: string, entry: Accumulated, rule: CarriedRule): void {
  // A withdrawn entry holds nothing; carried over, it would put its series back for good.
  if (entry.timestamp === WITHDRAWN) return;
  const known = into.get(rawKey);
  if (!known) into.set(rawKey, { ...entry });
  else mergeInto(known, entry, entry.rule ?? rule);
}

/**
 * The accumulated summary quantile entries without the buckets whose epoch
 * has aged out of their series' window at `nowMs`: no scrape counts them
 * again (their place in the ring holds only later epochs from now on).
 */
function withoutAgedBuckets(entries: Map<string, Accumulated>, nowMs: number): Accumulated[] {
  const decoded = [...entries.values()].map((e) => ({ e, key: decodeSummaryEntryKey(e.key, 0, e.key.length, 0) }));
  const windows = new Map<string, SummaryWindow>();
  const seriesOf = (key: { family: string; labels: Record<string, string> }): string => JSON.stringify([key.family, Object.entries(key.labels).sort()]);
  for (const { key } of decoded) {
    const { entry } = key;
    if (entry.kind === 'window' && !windows.has(seriesOf(key))) windows.set(seriesOf(key), entry);
  }
  return decoded
    .filter(({ e, key }) => {
      const window = key.entry.kind === 'window' ? undefined : windows.get(seriesOf(key));
      return !window || inWindow(e.timestamp, windowEpoch(nowMs, window.maxAgeSeconds, window.ageBuckets), window.ageBuckets);
    })
    .map(({ e }) => e);
}

function fileImage(entries: Iterable<Accumulated>): Buffer {
  const list = [...entries];
  const needed = list.reduce((end, e) => end + entrySize(e.key.length), HEADER_SIZE);
  const image = Buffer.alloc(grownSize(INITIAL_FILE_SIZE, needed));
  let pos = HEADER_SIZE;
  for (const e of list) {
    writeEntry(image, pos, e.key, e.value, e.timestamp);
    pos += entrySize(e.key.length);
  }
  writeUsed(image, pos);
  return image;
}

function deadWritersWithoutFiles(dir: string, withFiles: Map<string, unknown>): string[] {
  // Only a marker that is a regular file is a writer's: anything else under that name is left (and never forgotten).
  return writerIds(fs.readdirSync(dir)).filter(
    (id) => !withFiles.has(id) && entryKind(markerPath(dir, id)) === 'regular file' && writerState(dir, id, COMPACTION_GRACE) === 'dead',
  );
}

export interface CompactionResult {
  /** Dead writer ids whose files were merged and removed. */
  compacted: string[];
  /** Files removed. */
  removedFiles: number;
}

export interface CompactOptions {
  logger?: Logger;
  /**
   * Ids whose lock the caller has just taken for a new life: their files
   * are from a dead earlier life and are compacted whatever the lock says,
   * and only they are. Their lock and marker stay.
   */
  claimed?: string[];
}

/**
 * Merges the files of dead writers into the accumulated files and removes
 * them. Returns undefined when another compaction holds the directory. What
 * a scrape exports is the same before and after, except that float sums may
 * differ in their last digits (another order of additions).
 */
export function compact(dir?: string, options: CompactOptions = {}): CompactionResult | undefined {
  const where = requireDir(dir, 'compact');
  return withDirectoryLock(where, (lock) => compactLocked(where, lock, options));
}

const NOTHING_COMPACTED: CompactionResult = { compacted: [], removedFiles: 0 };

/** A dead writer's file as compaction lists it. */
interface ListedFile {
  name: string;
  prefix: FilePrefix;
  type: MetricType;
  /** A sidecar file (`.nhdb`): accumulated in `<prefix>_compacted.nhdb` (native histogram buckets added as counters, summary buckets by epoch). */
  native: boolean;
  /** How its values carry over; undefined: they go with the writer. */
  rule: CarriedRule | undefined;
}

/** compact() for a caller that holds the directory lock. */
export function compactLocked(dir: string, lock: DirectoryLock, options: CompactOptions = {}): CompactionResult {
  const logger = printableLogger(options.logger ?? consoleLogger);
  const { journal: pending, problem } = readJournal(dir);
  if (problem !== undefined) {
    if (!setJournalAside(dir, problem, logger)) return { ...NOTHING_COMPACTED };
  } else if (pending?.phase === 'pending') finishJournal(dir, pending, logger);

  const leftAlone = new Set<string>();
  const checkedKeys: CheckedKeys = new Map();
  const listFiles = (): Map<string, ListedFile[]> => {
    const byId = new Map<string, ListedFile[]>();
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareText(a.name, b.name));
    for (const entry of entries) {
      const name = entry.name;
      const parsed = parseMetricsFileName(name);
      if (!parsed || parsed.id === COMPACTED_ID) continue;
      if (!entry.isFile()) {
        // Not a file any writer makes: neither merged nor removed (a link's target is not ours to read).
        if (!leftAlone.has(name)) logger.warn(`compaction leaves ${path.join(dir, name)} alone: it is not a regular file`);
        leftAlone.add(name);
        continue;
      }
      if (options.claimed && !options.claimed.includes(parsed.id)) continue;
      const files = byId.get(parsed.id) ?? [];
      const native = parsed.native === true;
      // A summary sidecar's extremes have rules of their own (checkKey()).
      const rule = native ? carryOverSidecar(parsed.type) : carryOver(parsed.type, parsed.mode);
      files.push({ name, prefix: filePrefix(parsed.type, parsed.mode), type: parsed.type, native, rule });
      byId.set(parsed.id, files);
    }
    return byId;
  };
  const listed = listFiles();
  const judgedDead = options.claimed ?? [...listed.keys()].filter((id) => writerState(dir, id, COMPACTION_GRACE) === 'dead');
  // Dead writers that never wrote a file leave only their lock and marker.
  const judgedWithoutFiles = options.claimed ? [] : deadWritersWithoutFiles(dir, listed);
  if (judgedDead.length === 0 && judgedWithoutFiles.length === 0) return { ...NOTHING_COMPACTED };
  // A writer may create files and exit between the listing and the judgement. Listed again now that
  // the dead write no more, none of its files stays behind without its marker (alive forever). Claimed
  // ids need no second listing: their caller holds their lock, so nothing writes under them meanwhile.
  const byId = options.claimed ? listed : listFiles();
  const deadIds = [...judgedDead, ...judgedWithoutFiles].filter((id) => byId.has(id));
  const forgetOnly = options.claimed ? [] : [...judgedDead, ...judgedWithoutFiles].filter((id) => !byId.has(id));

  /** By accumulated file name. */
  const merged = new Map<string, Map<string, Accumulated>>();
  const compactedIds: string[] = [];
  const remove: string[] = [];
  for (const id of deadIds) {
    lock.refresh();
    // Read all of one id's files before merging any, so that a damaged one leaves the whole id alone.
    let files: Array<{ accumulated: string; type: MetricType; native: boolean; rule: CarriedRule; entries: Array<[string, Accumulated]> }>;
    try {
      files = byId.get(id)!.flatMap(({ name, prefix, type, native, rule }) =>
        rule ? [{ accumulated: metricsFileName(prefix, COMPACTED_ID, native), type, native, rule, entries: entriesOf(path.join(dir, name), type, native, checkedKeys) }] : [],
      );
    } catch (err) {
      if (!isUnreadable(err)) throw err;
      logger.warn(`compaction leaves the files of ${id} in ${dir} alone: ${err.message}`);
      continue;
    }
    for (const { accumulated, type, native, rule, entries } of files) {
      let into = merged.get(accumulated);
      if (!into) {
        into = new Map();
        const existing = path.join(dir, accumulated);
        if (entryKind(existing) !== undefined) {
          try {
            for (const [rawKey, entry] of entriesOf(existing, type, native, checkedKeys)) combine(into, rawKey, entry, rule);
          } catch (err) {
            if (!isUnreadable(err)) throw err;
            logger.warn(`compaction stopped: the accumulated file cannot be read (${err.message}); move it away to compact again`);
            return { ...NOTHING_COMPACTED };
          }
        }
        merged.set(accumulated, into);
      }
      for (const [rawKey, entry] of entries) combine(into, rawKey, entry, rule);
    }
    compactedIds.push(id);
    remove.push(...byId.get(id)!.map((f) => f.name));
  }
  if (compactedIds.length === 0 && forgetOnly.length === 0) return { ...NOTHING_COMPACTED };

  const journalId = randomToken();
  const install: Journal['install'] = [];
  const nowMs = Date.now();
  for (const [to, entries] of merged) {
    lock.refresh();
    const from = installingName(to, journalId);
    const parsed = parseMetricsFileName(to)!;
    createExclusive(path.join(dir, from), fileImage(parsed.native && parsed.type === 'summary' ? withoutAgedBuckets(entries, nowMs) : entries.values()));
    install.push({ from, to });
  }
  faultPoint('after-temporaries');
  if (!lock.stillHeld()) {
    // Stalled past the stale time and taken over: the new holder decides now. What we wrote is unused.
    for (const { from } of install) removeRegularFile(path.join(dir, from));
    logger.warn(`compaction of ${dir} gave up: its directory lock was taken over while it worked (stalled for over ${DIRECTORY_LOCK_STALE_MS / 1000} s)`);
    return { ...NOTHING_COMPACTED };
  }
  const forget = options.claimed ? [] : [...compactedIds, ...forgetOnly];
  const journal: Journal = { id: journalId, phase: 'pending', install, remove, forget };
  writeJournal(dir, journal);
  faultPoint('after-journal');
  finishJournal(dir, journal, logger);
  return { compacted: compactedIds, removedFiles: remove.length };
}

/** A file compaction cannot read: damaged bytes, or not a regular file. */
function isUnreadable(err: unknown): err is FileFormatError | UnsafeFileError {
  return err instanceof FileFormatError || err instanceof UnsafeFileError;
}
