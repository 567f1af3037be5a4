import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import { ConfigError, FileFormatError } from '../errors.js';
import { HEADER_SIZE, INITIAL_FILE_SIZE, entrySize, grownSize, walkEntries, writeEntry, writeUsed } from '../format/layout.js';
import { dbFileName, filePrefix, isPerLiveProcess, mergeRule, parseDbFileName, type FilePrefix, type GaugeMode, type MergeRule, type MetricType } from '../format/names.js';
import { consoleLogger, type Logger } from '../log.js';
import { readFileImage } from './file-image.js';
import { COMPACTED_ID, forgetWriter, writerIds, writerState } from './liveness.js';
import { resolveDir } from './process-storage.js';

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

export const JOURNAL_NAME = '.compaction-journal.json';
const DIRECTORY_LOCK = '.compaction';
/** Longer than any compaction takes: the holder blocks its event loop and cannot refresh the lock. */
const DIRECTORY_LOCK_STALE_MS = 60000;
/** A writer must be silent this many of its liveness timeouts before its files are compacted away. */
export const COMPACTION_GRACE = 2;

export interface Journal {
  id: string;
  phase: 'pending' | 'done';
  /** Temporary name -> final name, both relative to the directory. */
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

export function readJournal(dir: string): Journal | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, JOURNAL_NAME), 'utf8')) as Journal;
  } catch {
    return undefined;
  }
}

function writeJournal(dir: string, journal: Journal): void {
  const temporary = path.join(dir, `${JOURNAL_NAME}.${journal.id}.tmp`);
  fs.writeFileSync(temporary, JSON.stringify(journal));
  fs.renameSync(temporary, path.join(dir, JOURNAL_NAME));
}

/** Runs `work` holding the directory lock, or returns undefined at once when someone else holds it. */
export function withDirectoryLock<T>(dir: string, work: () => T): T | undefined {
  let release: () => void;
  try {
    release = lockfile.lockSync(path.join(dir, DIRECTORY_LOCK), {
      lockfilePath: path.join(dir, `${DIRECTORY_LOCK}.lock`),
      realpath: false,
      stale: DIRECTORY_LOCK_STALE_MS,
      onCompromised: () => {},
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
    throw err;
  }
  try {
    return work();
  } finally {
    release();
  }
}

/** Completes an interrupted compaction. Call with the directory lock held. */
function finishJournal(dir: string, journal: Journal): void {
  let first = true;
  for (const { from, to } of journal.install) {
    try {
      fs.renameSync(path.join(dir, from), path.join(dir, to));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // installed already
    }
    if (first) faultPoint('after-first-install');
    first = false;
  }
  first = true;
  for (const name of journal.remove) {
    fs.rmSync(path.join(dir, name), { force: true });
    if (first) faultPoint('after-first-remove');
    first = false;
  }
  for (const id of journal.forget) forgetWriter(dir, id);
  faultPoint('before-done');
  writeJournal(dir, { ...journal, phase: 'done' });
}

/** A rule by which a dead writer's values carry over into the accumulated file. */
type CarriedRule = Exclude<MergeRule, 'per-process'>;

/** How a dead writer's values carry over: as a scrape merges them; undefined: they go (live* gauges, and `all`, whose series are per process). */
function carryOver(type: MetricType, mode: GaugeMode | undefined): CarriedRule | undefined {
  if (type === 'gauge' && isPerLiveProcess(mode!)) return undefined;
  return mergeRule(type, mode) as CarriedRule;
}

interface Accumulated {
  key: Buffer;
  value: number;
  timestamp: number;
}

/** Every entry of a file, checked; throws FileFormatError. */
function entriesOf(file: string): Array<[rawKey: string, entry: Accumulated]> {
  const { buf, used } = readFileImage(file);
  const entries: Array<[string, Accumulated]> = [];
  walkEntries(buf, used, (entry) => {
    entries.push([
      buf.toString('latin1', entry.keyStart, entry.keyEnd),
      { key: Buffer.from(buf.subarray(entry.keyStart, entry.keyEnd)), value: buf.readDoubleLE(entry.valueOffset), timestamp: buf.readDoubleLE(entry.valueOffset + 8) },
    ]);
  });
  return entries;
}

function combine(into: Map<string, Accumulated>, rawKey: string, entry: Accumulated, rule: CarriedRule): void {
  const known = into.get(rawKey);
  if (!known) into.set(rawKey, { ...entry });
  else if (rule === 'sum') known.value += entry.value;
  else if (rule === 'min') known.value = Math.min(known.value, entry.value);
  else if (rule === 'max') known.value = Math.max(known.value, entry.value);
  else if (entry.timestamp !== 0 && (known.timestamp === 0 || entry.timestamp > known.timestamp)) {
    // mostrecent: a never-set entry (timestamp 0) never wins.
    known.value = entry.value;
    known.timestamp = entry.timestamp;
  }
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
  return writerIds(fs.readdirSync(dir)).filter((id) => !withFiles.has(id) && writerState(dir, id, COMPACTION_GRACE) === 'dead');
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
  const where = resolveDir(dir);
  if (!where) throw new ConfigError('compact: no directory given and PROMETHEUS_MULTIPROC_DIR is not set');
  return withDirectoryLock(where, () => compactLocked(where, options));
}

/** compact() for a caller that holds the directory lock. */
export function compactLocked(dir: string, options: CompactOptions = {}): CompactionResult {
  const logger = options.logger ?? consoleLogger;
  const pending = readJournal(dir);
  if (pending?.phase === 'pending') finishJournal(dir, pending);

  const listFiles = (): Map<string, Array<{ name: string; prefix: FilePrefix; rule: CarriedRule | undefined }>> => {
    const byId = new Map<string, Array<{ name: string; prefix: FilePrefix; rule: CarriedRule | undefined }>>();
    for (const name of fs.readdirSync(dir).sort()) {
      const parsed = parseDbFileName(name);
      if (!parsed || parsed.id === COMPACTED_ID) continue;
      if (options.claimed && !options.claimed.includes(parsed.id)) continue;
      const files = byId.get(parsed.id) ?? [];
      files.push({ name, prefix: filePrefix(parsed.type, parsed.mode), rule: carryOver(parsed.type, parsed.mode) });
      byId.set(parsed.id, files);
    }
    return byId;
  };
  const listed = listFiles();
  const judgedDead = options.claimed ?? [...listed.keys()].filter((id) => writerState(dir, id, COMPACTION_GRACE) === 'dead');
  // Dead writers that never wrote a file leave only their lock and marker.
  const judgedWithoutFiles = options.claimed ? [] : deadWritersWithoutFiles(dir, listed);
  if (judgedDead.length === 0 && judgedWithoutFiles.length === 0) return { compacted: [], removedFiles: 0 };
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
    // Read all of one id's files before merging any, so that a damaged one leaves the whole id alone.
    let files: Array<{ prefix: FilePrefix; rule: CarriedRule; entries: Array<[string, Accumulated]> }>;
    try {
      files = byId
        .get(id)!
        .flatMap(({ name, prefix, rule }) => (rule ? [{ prefix, rule, entries: entriesOf(path.join(dir, name)) }] : []));
    } catch (err) {
      if (!(err instanceof FileFormatError)) throw err;
      logger.warn(`compaction leaves the files of ${id} in ${dir} alone: ${err.reason}`);
      continue;
    }
    for (const { prefix, rule, entries } of files) {
      let into = merged.get(prefix);
      if (!into) {
        into = new Map();
        const existing = path.join(dir, dbFileName(prefix, COMPACTED_ID));
        if (fs.existsSync(existing)) {
          try {
            for (const [rawKey, entry] of entriesOf(existing)) combine(into, rawKey, entry, rule);
          } catch (err) {
            if (!(err instanceof FileFormatError)) throw err;
            logger.warn(`compaction stopped: the accumulated file ${existing} is damaged (${err.reason}); move it away to compact again`);
            return { compacted: [], removedFiles: 0 };
          }
        }
        merged.set(prefix, into);
      }
      for (const [rawKey, entry] of entries) combine(into, rawKey, entry, rule);
    }
    compactedIds.push(id);
    remove.push(...byId.get(id)!.map((f) => f.name));
  }
  if (compactedIds.length === 0 && forgetOnly.length === 0) return { compacted: [], removedFiles: 0 };

  const journalId = randomBytes(8).toString('hex');
  const install: Journal['install'] = [];
  for (const [prefix, entries] of merged) {
    const to = dbFileName(prefix, COMPACTED_ID);
    const from = `${to}.${journalId}.next`;
    fs.writeFileSync(path.join(dir, from), fileImage(entries.values()));
    install.push({ from, to });
  }
  faultPoint('after-temporaries');
  const forget = options.claimed ? [] : [...compactedIds, ...forgetOnly];
  const journal: Journal = { id: journalId, phase: 'pending', install, remove, forget };
  writeJournal(dir, journal);
  faultPoint('after-journal');
  finishJournal(dir, journal);
  return { compacted: compactedIds, removedFiles: remove.length };
}
