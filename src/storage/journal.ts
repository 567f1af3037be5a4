import * as fs from 'node:fs';
import * as path from 'node:path';
import { UnsafeFileError } from '../errors.js';
import { COMPACTED_ID, JOURNAL_NAME, installingName, isFileId, parseMetricsFileName, rejectedJournalName, temporaryName } from '../format/directory-names.js';
import type { Logger } from '../log.js';
import { forgetWriter } from './liveness.js';
import { randomToken } from './random-token.js';
import { createExclusive, effectiveUid, entryKind, readSmallFile } from './safe-files.js';
import { removeRegularFile } from './safe-removal.js';

/**
 * The compaction journal, what makes compaction crash safe: the new
 * accumulated files are written under temporary names (not ending in `.db`),
 * then a journal naming what to install and what to remove is written
 * atomically. From that moment the compaction counts as done: collectors
 * read the directory through the journal (skipping removed files, reading an
 * installed file's temporary while it exists), and whoever next takes the
 * directory lock finishes an interrupted one. Killed before the journal,
 * nothing visible has changed. The journal stays, marked done, so a
 * collector can tell that a compaction happened during its reads.
 */

/** A journal lists file names: a few MB for tens of thousands of dead writers. */
const MAX_JOURNAL_BYTES = 64 * 1024 * 1024;

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

export function faultPoint(step: CompactionStep): void {
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
    if (typeof to !== 'string' || parseMetricsFileName(to)?.id !== COMPACTED_ID || from !== installingName(to, journal.id)) {
      return `install step ${JSON.stringify(step)} is not <prefix>_${COMPACTED_ID}.db (or .nhdb) from its .next temporary`;
    }
  }
  for (const name of remove as unknown[]) {
    if (typeof name !== 'string' || parseMetricsFileName(name) === undefined || parseMetricsFileName(name)!.id === COMPACTED_ID) {
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

export function writeJournal(dir: string, journal: Journal): void {
  const temporary = path.join(dir, temporaryName(JOURNAL_NAME, journal.id));
  createExclusive(temporary, JSON.stringify(journal));
  fs.renameSync(temporary, path.join(dir, JOURNAL_NAME));
}

/**
 * Moves a journal that is not used out of the way, so that compaction can
 * write its own. Returns false (and says why) when it cannot be moved.
 */
export function setJournalAside(dir: string, problem: string, logger: Logger): boolean {
  const aside = rejectedJournalName(randomToken());
  try {
    fs.renameSync(path.join(dir, JOURNAL_NAME), path.join(dir, aside));
  } catch (err) {
    logger.warn(`compaction of ${dir} stopped: the journal ${JOURNAL_NAME} ${problem}, and cannot be set aside (${(err as Error).message}); remove it`);
    return false;
  }
  logger.warn(`${path.join(dir, JOURNAL_NAME)} ${problem}: not acted on, set aside as ${aside}`);
  return true;
}

/** Completes an interrupted compaction. Call with the directory lock held. */
export function finishJournal(dir: string, journal: Journal, logger: Logger): void {
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
