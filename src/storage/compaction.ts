import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileFormatError, UnsafeFileError } from '../errors.js';
import { COMPACTED_ID, exemplarFileName, filePrefix, installingName, metricsFileName, parseMetricsFileName, writerIds, type ExemplarPrefix, type FilePrefix } from '../format/directory-names.js';
import { decodeEntryKey, decodeExemplarEntryKey, decodeNativeEntryKey, decodeSummaryEntryKey, seriesIdentity } from '../format/key.js';
import { HEADER_SIZE, INITIAL_FILE_SIZE, entrySize, grownSize, walkEntries, writeEntry, writeEntryKey, writeUsed } from '../format/layout.js';
import { carriedPayload, EXEMPLAR_PAYLOAD_BYTES } from '../format/exemplar-record.js';
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
  return namingFile(file, () => entriesIn(file, type, native, checked));
}

/** Runs `read` of `file`; a FileFormatError it throws names the file. */
function namingFile<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw err instanceof FileFormatError && err.path === undefined ? err.withPath(file) : err;
  }
}

function entriesIn(file: string, type: MetricType, native: boolean, checked: CheckedKeys): Array<[rawKey: string, entry: Accumulated]> {
  const { buf, used } = readFileImage(file);
  const kind = kindOf(type, native);
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

function kindOf(type: MetricType, native: boolean): string {
  return native ? `${type} native` : type;
}

/**
 * The series to leave out of the accumulated files: withdrawn in some `.db`
 * file (a writer removed them) and held by no live writer's `.db` file, the
 * series a scrape hides (collector/series-table.ts, hideWithdrawn). Carried
 * over, they would come back once the withdrawing writer is gone; and every
 * entry of theirs goes, the sidecar files' too (native and quantile
 * buckets, exemplars), or a series made again would count what it held
 * before. Only `.db` entries say that a series was removed: in a sidecar
 * file a timestamp of -1 also marks an entry that holds no observation yet.
 * Files that cannot be read are passed over here (compaction reports them
 * itself).
 */
class RemovedSeries {
  /** Per type, the removed series (seriesIdentity), which entries of every kind of file are matched against. */
  private readonly series = new Map<MetricType, Set<string>>();
  /** has() per kind of file and raw key, decided once: the writers of a service share their keys. */
  private readonly verdicts = new Map<string, boolean>();

  constructor(dir: string, files: ReadonlyArray<{ name: string; type: MetricType; live: boolean }>) {
    const walk = (file: { name: string }, visit: (buf: Buffer, entry: { keyStart: number; keyEnd: number; offset: number }, isWithdrawn: boolean) => void): void => {
      try {
        const { buf, used } = readFileImage(path.join(dir, file.name));
        walkEntries(buf, used, (entry) => visit(buf, entry, buf.readDoubleLE(entry.valueOffset + 8) === WITHDRAWN));
      } catch (err) {
        if (!isUnreadable(err) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    };
    const withdrawn = new Map<MetricType, Map<string, string>>();
    for (const file of files) {
      walk(file, (buf, entry, isWithdrawn) => {
        if (!isWithdrawn) return;
        let keys = withdrawn.get(file.type);
        if (!keys) withdrawn.set(file.type, (keys = new Map()));
        const rawKey = buf.toString('latin1', entry.keyStart, entry.keyEnd);
        // A key that does not decode names no series; compaction reports its file when it reads it.
        if (!keys.has(rawKey)) keys.set(rawKey, identityOf(buf, entry, file.type) ?? '');
      });
    }
    if (withdrawn.size === 0) return;
    const heldLive = new Set<string>();
    for (const file of files) {
      if (!file.live || !withdrawn.has(file.type)) continue;
      walk(file, (buf, entry, isWithdrawn) => {
        if (isWithdrawn) return;
        const identity = identityOf(buf, entry, file.type);
        if (identity !== undefined) heldLive.add(`${file.type}\u0000${identity}`);
      });
    }
    for (const [type, keys] of withdrawn) {
      for (const identity of keys.values()) {
        if (identity === '' || heldLive.has(`${type}\u0000${identity}`)) continue;
        let typeSeries = this.series.get(type);
        if (!typeSeries) this.series.set(type, (typeSeries = new Set()));
        typeSeries.add(identity);
      }
    }
  }

  /** Whether the entry `rawKey` of a file of `type` (`native`: its `.nhdb` sidecar; an `.exdb` key is a `.db` key) belongs to a removed series. */
  has(type: MetricType, native: boolean, rawKey: string): boolean {
    const series = this.series.get(type);
    if (series === undefined) return false;
    const verdictKey = `${kindOf(type, native)}\u0000${rawKey}`;
    let verdict = this.verdicts.get(verdictKey);
    if (verdict === undefined) {
      const buf = Buffer.from(rawKey, 'latin1');
      try {
        const key = !native ? decodeEntryKey(buf, 0, buf.length, 0, type) : type === 'summary' ? decodeSummaryEntryKey(buf, 0, buf.length, 0) : decodeNativeEntryKey(buf, 0, buf.length, 0);
        verdict = series.has(seriesIdentity(key));
      } catch {
        // A key that does not decode: its file is reported and left alone when compaction reads it.
        verdict = false;
      }
      this.verdicts.set(verdictKey, verdict);
    }
    return verdict;
  }
}

/** The series identity of a `.db` entry's key, undefined when the key does not decode. */
function identityOf(buf: Buffer, entry: { keyStart: number; keyEnd: number; offset: number }, type: MetricType): string | undefined {
  try {
    return seriesIdentity(decodeEntryKey(buf, entry.keyStart, entry.keyEnd, entry.offset, type));
  } catch (err) {
    if (err instanceof FileFormatError) return undefined;
    throw err;
  }
}

function combine(into: Map<string, Accumulated>, rawKey: string, entry: Accumulated, rule: CarriedRule, removed: boolean): void {
  // A withdrawn entry holds nothing; carried over, it would put its series back for good.
  if (entry.timestamp === WITHDRAWN || removed) return;
  const known = into.get(rawKey);
  if (!known) into.set(rawKey, { ...entry });
  else mergeInto(known, entry, entry.rule ?? rule);
}

/**
 * The accumulated summary quantile entries without the buckets whose epoch
 * has aged out of their series' window at `nowMs`: no scrape counts them
 * again (their place in the ring holds only later epochs from now on); nor
 * the buckets of a series that has no window entry.
 */
function withoutAgedBuckets(entries: Map<string, Accumulated>, nowMs: number): Accumulated[] {
  const decoded = [...entries.values()].map((e) => ({ e, key: decodeSummaryEntryKey(e.key, 0, e.key.length, 0) }));
  const windows = new Map<string, SummaryWindow>();
  for (const { key } of decoded) {
    const { entry } = key;
    if (entry.kind === 'window' && !windows.has(seriesIdentity(key))) windows.set(seriesIdentity(key), entry);
  }
  return decoded
    .filter(({ e, key }) => {
      if (key.entry.kind === 'window') return true;
      // A bucket of a series without a window entry is counted by no scrape (collector/summary-table.ts).
      const window = windows.get(seriesIdentity(key));
      return window !== undefined && inWindow(e.timestamp, windowEpoch(nowMs, window.maxAgeSeconds, window.ageBuckets), window.ageBuckets);
    })
    .map(({ e }) => e);
}

/** An exemplar carried over: its key and its payload (format/exemplar-record.ts). */
interface CarriedExemplar {
  key: Buffer;
  payload: Buffer;
  timestamp: number;
}

/** The exemplars of an `.exdb` file that a reader can trust, keys checked as the collector checks them. Throws FileFormatError. */
function exemplarsOf(file: string, type: MetricType, checked: CheckedKeys): Array<[rawKey: string, exemplar: CarriedExemplar]> {
  return namingFile(file, () => exemplarsIn(file, type, checked));
}

function exemplarsIn(file: string, type: MetricType, checked: CheckedKeys): Array<[rawKey: string, exemplar: CarriedExemplar]> {
  const { buf, used } = readFileImage(file);
  const kind = `${type} exemplar`;
  let good = checked.get(kind);
  if (!good) checked.set(kind, (good = new Map()));
  const exemplars: Array<[string, CarriedExemplar]> = [];
  walkEntries(
    buf,
    used,
    (entry) => {
      const rawKey = buf.toString('latin1', entry.keyStart, entry.keyEnd);
      if (!good.has(rawKey)) {
        decodeExemplarEntryKey(buf, entry.keyStart, entry.keyEnd, entry.offset, type);
        good.set(rawKey, undefined);
      }
      const carried = carriedPayload(buf, entry.valueOffset);
      if (carried) exemplars.push([rawKey, { key: Buffer.from(buf.subarray(entry.keyStart, entry.keyEnd)), ...carried }]);
    },
    HEADER_SIZE,
    EXEMPLAR_PAYLOAD_BYTES,
  );
  return exemplars;
}

/** The latest exemplar of each series wins; a removed series keeps none. */
function combineExemplar(into: Map<string, CarriedExemplar>, rawKey: string, exemplar: CarriedExemplar, removed: boolean): void {
  if (removed) return;
  const known = into.get(rawKey);
  if (!known || exemplar.timestamp > known.timestamp) into.set(rawKey, exemplar);
}

function exemplarFileImage(exemplars: Iterable<CarriedExemplar>): Buffer {
  const list = [...exemplars];
  const needed = list.reduce((end, e) => end + entrySize(e.key.length, EXEMPLAR_PAYLOAD_BYTES), HEADER_SIZE);
  const image = Buffer.alloc(grownSize(INITIAL_FILE_SIZE, needed));
  let pos = HEADER_SIZE;
  for (const e of list) {
    e.payload.copy(image, writeEntryKey(image, pos, e.key));
    pos += entrySize(e.key.length, EXEMPLAR_PAYLOAD_BYTES);
  }
  writeUsed(image, pos);
  return image;
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
  /** Exemplars (`.exdb`): the latest of each series carried into `<prefix>_compacted.exdb`. */
  exemplar: boolean;
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
  const listFiles = (everyId = false): Map<string, ListedFile[]> => {
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
      if (options.claimed && !everyId && !options.claimed.includes(parsed.id)) continue;
      const files = byId.get(parsed.id) ?? [];
      const native = parsed.native === true;
      const exemplar = parsed.exemplar === true;
      // Exemplar files are carried by their own rule (the latest), never merged as values; a summary sidecar's extremes have rules of their own (checkKey()).
      const rule = exemplar ? undefined : native ? carryOverSidecar(parsed.type) : carryOver(parsed.type, parsed.mode);
      files.push({ name, prefix: filePrefix(parsed.type, parsed.mode), type: parsed.type, native, exemplar, rule });
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

  // Every writer's files, the live ones too (a claimed compaction lists only its own ids): which series were removed.
  const everyFile = options.claimed ? listFiles(true) : byId;
  const dead = new Set(deadIds);
  const removed = new RemovedSeries(
    dir,
    [...everyFile].flatMap(([id, files]) => files.filter((f) => !f.native && !f.exemplar).map((f) => ({ ...f, live: !dead.has(id) }))),
  );

  /** By accumulated file name. */
  const merged = new Map<string, Map<string, Accumulated>>();
  const mergedExemplars = new Map<string, Map<string, CarriedExemplar>>();
  const compactedIds: string[] = [];
  const remove: string[] = [];
  for (const id of deadIds) {
    lock.refresh();
    // Read all of one id's files before merging any, so that a damaged one leaves the whole id alone.
    let files: Array<{ accumulated: string; type: MetricType; native: boolean; rule: CarriedRule; entries: Array<[string, Accumulated]> }>;
    let exemplarFiles: Array<{ accumulated: string; type: MetricType; exemplars: Array<[string, CarriedExemplar]> }>;
    try {
      files = byId.get(id)!.flatMap(({ name, prefix, type, native, rule }) =>
        rule ? [{ accumulated: metricsFileName(prefix, COMPACTED_ID, native), type, native, rule, entries: entriesOf(path.join(dir, name), type, native, checkedKeys) }] : [],
      );
      exemplarFiles = byId.get(id)!.flatMap(({ name, prefix, type, exemplar }) =>
        exemplar ? [{ accumulated: exemplarFileName(prefix as ExemplarPrefix, COMPACTED_ID), type, exemplars: exemplarsOf(path.join(dir, name), type, checkedKeys) }] : [],
      );
    } catch (err) {
      if (!isUnreadable(err)) throw err;
      logger.warn(`compaction leaves the files of ${id} in ${dir} alone: ${err.message}`);
      continue;
    }
    for (const { accumulated, type, native, rule, entries } of files) {
      const add = (into: Map<string, Accumulated>, rawKey: string, entry: Accumulated): void => combine(into, rawKey, entry, rule, removed.has(type, native, rawKey));
      const into = accumulatedMap(merged, dir, accumulated, (file) => entriesOf(file, type, native, checkedKeys), add, logger);
      if (!into) return { ...NOTHING_COMPACTED };
      for (const [rawKey, entry] of entries) add(into, rawKey, entry);
    }
    for (const { accumulated, type, exemplars } of exemplarFiles) {
      const add = (into: Map<string, CarriedExemplar>, rawKey: string, exemplar: CarriedExemplar): void => combineExemplar(into, rawKey, exemplar, removed.has(type, false, rawKey));
      const into = accumulatedMap(mergedExemplars, dir, accumulated, (file) => exemplarsOf(file, type, checkedKeys), add, logger);
      if (!into) return { ...NOTHING_COMPACTED };
      for (const [rawKey, exemplar] of exemplars) add(into, rawKey, exemplar);
    }
    compactedIds.push(id);
    remove.push(...byId.get(id)!.map((f) => f.name));
  }
  if (compactedIds.length === 0 && forgetOnly.length === 0) return { ...NOTHING_COMPACTED };

  const journalId = randomToken();
  const install: Journal['install'] = [];
  const nowMs = Date.now();
  const valuesImage = (to: string, entries: Map<string, Accumulated>): Buffer => {
    const parsed = parseMetricsFileName(to)!;
    return fileImage(parsed.native && parsed.type === 'summary' ? withoutAgedBuckets(entries, nowMs) : entries.values());
  };
  const images: Array<[name: string, image: () => Buffer]> = [
    ...[...merged].map(([to, entries]): [string, () => Buffer] => [to, () => valuesImage(to, entries)]),
    ...[...mergedExemplars].map(([to, exemplars]): [string, () => Buffer] => [to, () => exemplarFileImage(exemplars.values())]),
  ];
  for (const [to, image] of images) {
    lock.refresh();
    const from = installingName(to, journalId);
    createExclusive(path.join(dir, from), image());
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

/**
 * The entries of accumulated file `name` in `merged`, read from the file as
 * it is at their first use (`read`, each added with `add`); undefined when
 * that file cannot be read: compaction stops, since rewriting it would lose
 * what it holds.
 */
function accumulatedMap<E>(
  merged: Map<string, Map<string, E>>,
  dir: string,
  name: string,
  read: (file: string) => Array<[rawKey: string, entry: E]>,
  add: (into: Map<string, E>, rawKey: string, entry: E) => void,
  logger: Logger,
): Map<string, E> | undefined {
  let into = merged.get(name);
  if (into) return into;
  into = new Map();
  const existing = path.join(dir, name);
  if (entryKind(existing) !== undefined) {
    try {
      for (const [rawKey, entry] of read(existing)) add(into, rawKey, entry);
    } catch (err) {
      if (!isUnreadable(err)) throw err;
      logger.warn(`compaction stopped: the accumulated file cannot be read (${err.message}); move it away to compact again`);
      return undefined;
    }
  }
  merged.set(name, into);
  return into;
}

/** A file compaction cannot read: damaged bytes, or not a regular file. */
function isUnreadable(err: unknown): err is FileFormatError | UnsafeFileError {
  return err instanceof FileFormatError || err instanceof UnsafeFileError;
}
