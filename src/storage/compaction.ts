import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import { hostname } from 'node:os';
import { FileFormatError, UnsafeFileError } from '../errors.js';
import { decodeEntryKey } from '../format/key.js';
import { HEADER_SIZE, INITIAL_FILE_SIZE, entrySize, grownSize, walkEntries, writeEntry, writeUsed } from '../format/layout.js';
import { carryOver, mergeInto, type CarriedRule, type StoredValue } from '../format/merge.js';
import type { MetricType } from '../format/names.js';
import {
  COMPACTED_ID,
  DIRECTORY_LOCK_NAME,
  DIRECTORY_LOCK_TARGET,
  JOURNAL_NAME,
  LOCK_HOLDER_NAME,
  dbFileName,
  filePrefix,
  installingName,
  isFileId,
  parseDbFileName,
  prefixType,
  rejectedJournalName,
  temporaryName,
  writerIds,
  type FilePrefix,
} from '../format/directory-names.js';
import { consoleLogger, printableLogger, type Logger } from '../log.js';
import { readFileImage } from './file-image.js';
import { forgetWriter, markerPath, notALock, writerState } from './liveness.js';
import { requireDir } from './config.js';
import { createExclusive, discard, effectiveUid, entryKind, isRealDirectory, lockFileSystem, readSmallFile, removeRegularFile } from './safe-files.js';

/**
 * Compaction merges the files of dead writers into accumulated files
 * (`<prefix>_compacted.db`, readable by Python too) and removes them, so a
 * directory stays bounded however many workers come and go.
 *
 * Crash safety: the new accumulated files are written under temporary names
 * (not ending in `.db`), then a journal naming what to install and what to
 * remove is written atomically. From that moment the compaction counts as
 * done: collectors read the directory through the journal (skipping removed
 * files, reading an installed file's temporary while it exists), and whoever
 * next takes the directory lock finishes an interrupted one. Killed before
 * the journal, nothing visible has changed. The journal stays, marked done,
 * so a collector can tell that a compaction happened during its reads.
 */

/**
 * A lock not refreshed for this long is taken over: its holder died or
 * hangs. A compaction blocks its event loop, so it refreshes the lock
 * itself between steps, every DIRECTORY_LOCK_REFRESH_MS.
 */
export const DIRECTORY_LOCK_STALE_MS = 10000;
const DIRECTORY_LOCK_REFRESH_MS = 1000;
/** A journal lists file names: a few MB for tens of thousands of dead writers. */
const MAX_JOURNAL_BYTES = 64 * 1024 * 1024;
/** A writer must be silent this many of its liveness timeouts before its files are compacted away. */
export const COMPACTION_GRACE = 2;

export interface Journal {
  /** 16 hex digits, random per compaction. */
  id: string;
  phase: 'pending' | 'done';
  /** Temporary name -> final name, both plain names in the directory. */
  install: Array<{ from: string; to: string }>;
  /** Files to delete. */
  remove: string[];
  /** Dead writer ids whose lock and marker go with their files. */
  forget: string[];
}

/** Steps a test can stop a compaction at (PROM_MULTIPROC_FAULT=compaction:<step> kills the process there). */
type CompactionStep = 'after-temporaries' | 'after-journal' | 'after-first-install' | 'after-first-remove' | 'before-done';

function faultPoint(step: CompactionStep): void {
  if (process.env.PROM_MULTIPROC_FAULT === `compaction:${step}`) process.kill(process.pid, 'SIGKILL');
}

const JOURNAL_ID = /^[0-9a-f]{16}$/;

/**
 * Why `value` is not a journal this library wrote, or undefined. Every name
 * in it must be one compaction itself would write: whoever can write into
 * the directory can write a journal, and acting on `../` or a foreign name
 * would delete or replace files outside it.
 */
function journalProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'not a JSON object';
  const journal = value as Record<string, unknown>;
  if (typeof journal.id !== 'string' || !JOURNAL_ID.test(journal.id)) return 'its id is not 16 hex digits';
  if (journal.phase !== 'pending' && journal.phase !== 'done') return 'its phase is neither pending nor done';
  const { install, remove, forget } = journal;
  if (!Array.isArray(install) || !Array.isArray(remove) || !Array.isArray(forget)) return 'install, remove and forget must be arrays';
  for (const step of install as unknown[]) {
    const { from, to } = (step ?? {}) as Record<string, unknown>;
    if (typeof to !== 'string' || parseDbFileName(to)?.id !== COMPACTED_ID || from !== installingName(to, journal.id)) {
      return `install step ${JSON.stringify(step)} is not <prefix>_${COMPACTED_ID}.db from its .next temporary`;
    }
  }
  for (const name of remove as unknown[]) {
    if (typeof name !== 'string' || parseDbFileName(name) === undefined || parseDbFileName(name)!.id === COMPACTED_ID) {
      return `remove entry ${JSON.stringify(name)} is not a dead writer's metrics file`;
    }
  }
  for (const id of forget as unknown[]) {
    if (!isFileId(id) || id === COMPACTED_ID) return `forget entry ${JSON.stringify(id)} is not a writer id`;
  }
  return undefined;
}

/** A journal as read: `problem` says why one that is there is not used (and is set aside at the next compaction). */
export interface JournalRead {
  journal?: Journal;
  problem?: string;
}

/**
 * The compaction journal of `dir`. Only a well-formed journal written by
 * this process's user or the directory's owner is used: any other user who
 * can write into the directory could otherwise make a compactor delete the
 * files of others.
 */
export function readJournal(dir: string): JournalRead {
  let content: Buffer;
  try {
    ({ content } = readSmallFile(path.join(dir, JOURNAL_NAME), MAX_JOURNAL_BYTES, (stat) => untrustedOwner(dir, stat)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return { problem: err instanceof UnsafeFileError ? err.reason : `cannot be read (${(err as Error).message})` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(content.toString('utf8'));
  } catch {
    return { problem: 'is not valid JSON' };
  }
  const problem = journalProblem(parsed);
  return problem ? { problem } : { journal: parsed as Journal };
}

/** Why a journal with this stat is not trusted (another user wrote it), or undefined. */
function untrustedOwner(dir: string, stat: fs.Stats): string | undefined {
  const uid = effectiveUid();
  if (uid === undefined || stat.uid === uid || stat.uid === directoryOwner(dir)) return undefined;
  return `belongs to user ${stat.uid}, who is neither this process's user (${uid}) nor the directory's owner`;
}

function directoryOwner(dir: string): number | undefined {
  try {
    return fs.statSync(dir).uid;
  } catch {
    return undefined;
  }
}

function writeJournal(dir: string, journal: Journal): void {
  const temporary = path.join(dir, temporaryName(JOURNAL_NAME, journal.id));
  createExclusive(temporary, JSON.stringify(journal));
  fs.renameSync(temporary, path.join(dir, JOURNAL_NAME));
}

/**
 * Moves a journal that is not used out of the way, so that compaction can
 * write its own. Returns false (and says why) when it cannot be moved.
 */
function setJournalAside(dir: string, problem: string, logger: Logger): boolean {
  const aside = rejectedJournalName(randomBytes(8).toString('hex'));
  try {
    fs.renameSync(path.join(dir, JOURNAL_NAME), path.join(dir, aside));
  } catch (err) {
    logger.warn(`compaction of ${dir} stopped: the journal ${JOURNAL_NAME} ${problem}, and cannot be set aside (${(err as Error).message}); remove it`);
    return false;
  }
  logger.warn(`${path.join(dir, JOURNAL_NAME)} ${problem}: not acted on, set aside as ${aside}`);
  return true;
}

/** What the holder of the directory lock wrote about itself. */
interface LockHolder {
  token: string;
  pid: number;
  hostname: string;
  since: string;
}

/** Held by a compaction: keeps the directory lock fresh, and tells whether it is still held. */
export interface DirectoryLock {
  /** Refreshes the lock if the last refresh is a second old; call between steps. */
  refresh(): void;
  /** Whether the lock is still ours: false when a stale lock of ours was taken over. */
  stillHeld(): boolean;
}

class HeldDirectoryLock implements DirectoryLock {
  private refreshedAt = Date.now();
  private readonly token = randomBytes(8).toString('hex');
  /** False when the holder file could not be written (a full disk): then only the lock's presence tells. */
  private readonly named: boolean;

  constructor(private readonly dir: string) {
    const holder: LockHolder = { token: this.token, pid: process.pid, hostname: hostname(), since: new Date().toISOString() };
    const temporary = path.join(dir, temporaryName(LOCK_HOLDER_NAME, this.token));
    try {
      createExclusive(temporary, JSON.stringify(holder));
      fs.renameSync(temporary, path.join(dir, LOCK_HOLDER_NAME));
      this.named = true;
    } catch {
      discard(temporary);
      this.named = false;
    }
  }

  refresh(): void {
    const now = Date.now();
    if (now - this.refreshedAt < DIRECTORY_LOCK_REFRESH_MS) return;
    this.refreshedAt = now;
    try {
      fs.lutimesSync(path.join(this.dir, DIRECTORY_LOCK_NAME), now / 1000, now / 1000);
    } catch {
      // Gone: stillHeld() tells before anything is committed.
    }
  }

  stillHeld(): boolean {
    return isRealDirectory(path.join(this.dir, DIRECTORY_LOCK_NAME)) && (!this.named || readLockHolder(this.dir)?.token === this.token);
  }
}

function readLockHolder(dir: string): LockHolder | undefined {
  try {
    return JSON.parse(readSmallFile(path.join(dir, LOCK_HOLDER_NAME), 4096).content.toString('utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** Who holds the directory lock of `dir`, for a message: process, host, since when, last refresh. */
export function describeDirectoryLock(dir: string): string {
  const planted = notALock(path.join(dir, DIRECTORY_LOCK_NAME));
  if (planted) return `${path.join(dir, DIRECTORY_LOCK_NAME)} is a ${planted}, not a lock directory: remove it`;
  let refreshed = '';
  try {
    // proper-lockfile sets a new lock's time up to a second ahead (to probe the precision).
    const age = Math.max(0, Date.now() - fs.lstatSync(path.join(dir, DIRECTORY_LOCK_NAME)).mtimeMs) / 1000;
    refreshed = `, refreshed ${age.toFixed(1)} s ago`;
  } catch {
    return 'the lock is free now';
  }
  const holder = readLockHolder(dir);
  const who = holder ? `process ${holder.pid} on ${holder.hostname}, holding it since ${holder.since}` : 'a holder that left no name';
  return `${path.join(dir, DIRECTORY_LOCK_NAME)} is held by ${who}${refreshed}; it is taken over once not refreshed for ${DIRECTORY_LOCK_STALE_MS / 1000} s`;
}

/** Runs `work` holding the directory lock, or returns undefined at once when someone else holds it. */
export function withDirectoryLock<T>(dir: string, work: (lock: DirectoryLock) => T): T | undefined {
  let release: () => void;
  try {
    release = lockfile.lockSync(path.join(dir, DIRECTORY_LOCK_TARGET), {
      lockfilePath: path.join(dir, DIRECTORY_LOCK_NAME),
      fs: lockFileSystem,
      realpath: false,
      stale: DIRECTORY_LOCK_STALE_MS,
      onCompromised: () => {},
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a file or link planted under the lock's name, which no compaction will take away.
    if (code === 'ELOCKED' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  try {
    return work(new HeldDirectoryLock(dir));
  } finally {
    try {
      release();
    } catch {
      // Taken over meanwhile: the lock is someone else's now.
    }
  }
}

/** Completes an interrupted compaction. Call with the directory lock held. */
function finishJournal(dir: string, journal: Journal, logger: Logger): void {
  let first = true;
  for (const { from, to } of journal.install) {
    const kind = entryKind(path.join(dir, from));
    if (kind === 'regular file') fs.renameSync(path.join(dir, from), path.join(dir, to));
    else if (kind !== undefined) logger.warn(`compaction did not install ${path.join(dir, from)}: it is a ${kind}`);
    // Missing: installed already.
    if (first) faultPoint('after-first-install');
    first = false;
  }
  first = true;
  for (const name of journal.remove) {
    const outcome = removeRegularFile(path.join(dir, name));
    if (typeof outcome === 'object') logger.warn(`compaction could not remove ${path.join(dir, name)}: ${outcome.left}`);
    if (first) faultPoint('after-first-remove');
    first = false;
  }
  for (const id of journal.forget) forgetWriter(dir, id);
  faultPoint('before-done');
  writeJournal(dir, { ...journal, phase: 'done' });
}

interface Accumulated extends StoredValue {
  key: Buffer;
}

/**
 * Raw keys already decoded and found good, per file type: the writers of a
 * service share their keys, so each is checked once per compaction.
 */
type CheckedKeys = Map<MetricType, Set<string>>;

/**
 * Every entry of a file whose name says it holds `type`, each key checked as
 * the collector checks it: a bad key carried into an accumulated file would
 * make every scrape skip that file. Throws FileFormatError.
 */
function entriesOf(file: string, type: MetricType, checked: CheckedKeys): Array<[rawKey: string, entry: Accumulated]> {
  const { buf, used } = readFileImage(file);
  let good = checked.get(type);
  if (!good) checked.set(type, (good = new Set()));
  const entries: Array<[string, Accumulated]> = [];
  walkEntries(buf, used, (entry) => {
    const rawKey = buf.toString('latin1', entry.keyStart, entry.keyEnd);
    if (!good.has(rawKey)) {
      decodeEntryKey(buf, entry.keyStart, entry.keyEnd, entry.offset, type);
      good.add(rawKey);
    }
    entries.push([
      rawKey,
      { key: Buffer.from(buf.subarray(entry.keyStart, entry.keyEnd)), value: buf.readDoubleLE(entry.valueOffset), timestamp: buf.readDoubleLE(entry.valueOffset + 8) },
    ]);
  });
  return entries;
}

function combine(into: Map<string, Accumulated>, rawKey: string, entry: Accumulated, rule: CarriedRule): void {
  const known = into.get(rawKey);
  if (!known) into.set(rawKey, { ...entry });
  else mergeInto(known, entry, rule);
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
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareNames(a.name, b.name));
    for (const entry of entries) {
      const name = entry.name;
      const parsed = parseDbFileName(name);
      if (!parsed || parsed.id === COMPACTED_ID) continue;
      if (!entry.isFile()) {
        // Not a file any writer makes: neither merged nor removed (a link's target is not ours to read).
        if (!leftAlone.has(name)) logger.warn(`compaction leaves ${path.join(dir, name)} alone: it is not a regular file`);
        leftAlone.add(name);
        continue;
      }
      if (options.claimed && !options.claimed.includes(parsed.id)) continue;
      const files = byId.get(parsed.id) ?? [];
      files.push({ name, prefix: filePrefix(parsed.type, parsed.mode), type: parsed.type, rule: carryOver(parsed.type, parsed.mode) });
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

  const merged = new Map<FilePrefix, Map<string, Accumulated>>();
  const compactedIds: string[] = [];
  const remove: string[] = [];
  for (const id of deadIds) {
    lock.refresh();
    // Read all of one id's files before merging any, so that a damaged one leaves the whole id alone.
    let files: Array<{ prefix: FilePrefix; rule: CarriedRule; entries: Array<[string, Accumulated]> }>;
    try {
      files = byId
        .get(id)!
        .flatMap(({ name, prefix, type, rule }) => (rule ? [{ prefix, rule, entries: entriesOf(path.join(dir, name), type, checkedKeys) }] : []));
    } catch (err) {
      if (!isUnreadable(err)) throw err;
      logger.warn(`compaction leaves the files of ${id} in ${dir} alone: ${err.message}`);
      continue;
    }
    for (const { prefix, rule, entries } of files) {
      let into = merged.get(prefix);
      if (!into) {
        into = new Map();
        const existing = path.join(dir, dbFileName(prefix, COMPACTED_ID));
        if (entryKind(existing) !== undefined) {
          try {
            for (const [rawKey, entry] of entriesOf(existing, prefixType(prefix), checkedKeys)) combine(into, rawKey, entry, rule);
          } catch (err) {
            if (!isUnreadable(err)) throw err;
            logger.warn(`compaction stopped: the accumulated file cannot be read (${err.message}); move it away to compact again`);
            return { ...NOTHING_COMPACTED };
          }
        }
        merged.set(prefix, into);
      }
      for (const [rawKey, entry] of entries) combine(into, rawKey, entry, rule);
    }
    compactedIds.push(id);
    remove.push(...byId.get(id)!.map((f) => f.name));
  }
  if (compactedIds.length === 0 && forgetOnly.length === 0) return { ...NOTHING_COMPACTED };

  const journalId = randomBytes(8).toString('hex');
  const install: Journal['install'] = [];
  for (const [prefix, entries] of merged) {
    lock.refresh();
    const to = dbFileName(prefix, COMPACTED_ID);
    const from = installingName(to, journalId);
    createExclusive(path.join(dir, from), fileImage(entries.values()));
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

/** Code-unit order, as a plain sort() of names gives. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
