import { isGaugeMode, type GaugeMode, type MetricType } from './names.js';

/**
 * Every name this library (or Python's client) puts in a multiprocess
 * directory, and the test of whether a name is one of them. Nothing else in
 * the code spells a name of the directory, so that clear() and the checks of
 * a hostile directory know them all. Pure: names only, never the file system.
 *
 *   <prefix>_<id>.db                   metrics files (Python's names); id `compacted`: what compaction accumulated
 *   histogram_<id>.nhdb                native histogram buckets of a writer's histograms (ours only); id `compacted` as above
 *   summary_<id>.nhdb                  the quantile buckets of a writer's summaries (ours only; exponential buckets too); id `compacted` as above
 *   counter_<id>.exdb, histogram_<id>.exdb   the latest exemplar of each series of a writer (ours only); id `compacted` as above
 *   <id>.writer                        a writer's liveness marker
 *   <id>.lock                          a writer's liveness lock (a directory)
 *   .compaction.lock                   the directory lock of compaction (a directory)
 *   .compaction.holder                 who holds it
 *   .compaction-journal.json           the compaction journal; set aside as `.rejected-<hex>` when not trusted
 *   <name>.<token>.next                an accumulated file written by compaction, before it is installed
 *   <name>.<token>.tmp                 a file being written, renamed or linked into place once complete
 *   .scrape-requested                  rewritten by every scrape, for writers of runtime metrics
 */

/** The id of the files that hold what compaction accumulated. */
export const COMPACTED_ID = 'compacted';

/** `counter`, `histogram`, `summary`, or `gauge_<mode>`: the part of a file name before the id. */
export type FilePrefix = 'counter' | 'histogram' | 'summary' | `gauge_${GaugeMode}`;

export function filePrefix(type: MetricType, mode?: GaugeMode): FilePrefix {
  return type === 'gauge' ? `gauge_${mode ?? 'all'}` : type;
}

/** The metric type of the files of `prefix`. */
export function prefixType(prefix: FilePrefix): MetricType {
  return prefix.startsWith('gauge_') ? 'gauge' : (prefix as MetricType);
}

const DB_SUFFIX = '.db';
/**
 * Native histogram buckets, and the exponential buckets of summary
 * quantiles, live beside the `.db` files, under a suffix Python's collector
 * never reads (it reads `*.db`, and fails on a `.db` file whose prefix it
 * does not know).
 */
const NATIVE_SUFFIX = '.nhdb';

/** Exemplars too: a suffix of their own, which Python's collector never reads. */
const EXEMPLAR_SUFFIX = '.exdb';

/** The prefixes whose metrics can have exemplars (prom-client's: counters and histograms). */
export type ExemplarPrefix = 'counter' | 'histogram';

export function exemplarFileName(prefix: ExemplarPrefix, id: string): string {
  return `${prefix}_${id}${EXEMPLAR_SUFFIX}`;
}

export function dbFileName(prefix: FilePrefix, id: string): string {
  return `${prefix}_${id}${DB_SUFFIX}`;
}

/** The prefixes whose metrics have exponential buckets in a file of their own per writer: native histograms, summary quantiles. */
export type NativePrefix = 'histogram' | 'summary';

/** The file of `prefix` and `id`: its `.db` file, or with `native` its native buckets' `.nhdb` file. */
export function metricsFileName(prefix: FilePrefix, id: string, native = false): string {
  return native ? `${prefix}_${id}${NATIVE_SUFFIX}` : dbFileName(prefix, id);
}

/** Whether `name` ends as a metrics file of ours does (`.db`, `.nhdb`, `.exdb`): what our collector reads, or reports as not a metrics file name. */
export function hasMetricsSuffix(name: string): boolean {
  return name.endsWith(DB_SUFFIX) || name.endsWith(NATIVE_SUFFIX) || name.endsWith(EXEMPLAR_SUFFIX);
}

export interface ParsedFileName {
  type: MetricType;
  mode?: GaugeMode;
  id: string;
  /** A `.nhdb` file: native histogram buckets (histogram) or quantile buckets (summary), not Python's entries. */
  native?: true;
  /** An `.exdb` file: exemplars, in entries of their own layout (format/exemplar-record.ts). */
  exemplar?: true;
}

/**
 * Whether `name` names an entry of the directory itself: not empty, not `.`
 * or `..`, no `/` (nor NUL). Names read from a file in the directory (the
 * compaction journal) must pass this before anything acts on them.
 */
function isPlainFileName(name: unknown): name is string {
  return typeof name === 'string' && name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/**
 * Whether `id` can be a writer's file id: a plain name without `_` (file
 * names are split on `_`) or `\`. Says nothing of the reserved `compacted`.
 */
export function isFileId(id: unknown): id is string {
  return isPlainFileName(id) && !/[_\\]/.test(id);
}

/**
 * Reads a metrics file name the way Python's collector does (split on `_`),
 * and returns undefined for anything that is not one of our metrics files:
 * `<prefix>_<id>.db`, `histogram_<id>.nhdb` and `summary_<id>.nhdb` (`native`),
 * or `counter_<id>.exdb` and `histogram_<id>.exdb` (`exemplar`).
 */
export function parseMetricsFileName(name: string): ParsedFileName | undefined {
  if (!isPlainFileName(name)) return undefined;
  if (name.endsWith(NATIVE_SUFFIX)) {
    const parts = name.slice(0, -NATIVE_SUFFIX.length).split('_');
    if (parts.length !== 2 || (parts[0] !== 'histogram' && parts[0] !== 'summary') || parts[1] === '') return undefined;
    return { type: parts[0], id: parts[1], native: true };
  }
  if (name.endsWith(EXEMPLAR_SUFFIX)) {
    const parts = name.slice(0, -EXEMPLAR_SUFFIX.length).split('_');
    if (parts.length !== 2 || (parts[0] !== 'counter' && parts[0] !== 'histogram') || parts[1] === '') return undefined;
    return { type: parts[0], id: parts[1], exemplar: true };
  }
  if (!name.endsWith(DB_SUFFIX)) return undefined;
  const parts = name.slice(0, -DB_SUFFIX.length).split('_');
  if (parts[0] === 'gauge') {
    if (parts.length !== 3 || !isGaugeMode(parts[1]) || parts[2] === '') return undefined;
    return { type: 'gauge', mode: parts[1], id: parts[2] };
  }
  if (parts.length !== 2 || parts[1] === '') return undefined;
  if (parts[0] === 'counter' || parts[0] === 'histogram' || parts[0] === 'summary') return { type: parts[0], id: parts[1] };
  return undefined;
}

const MARKER_SUFFIX = '.writer';
const LOCK_SUFFIX = '.lock';

/** The liveness marker of writer `id`: "this id is written by prom-multiproc, judge it by its lock". */
export function markerName(id: string): string {
  return `${id}${MARKER_SUFFIX}`;
}

/** The ids of the writers whose markers are among `names` (a directory listing). */
export function writerIds(names: readonly string[]): string[] {
  return names.filter((name) => name.endsWith(MARKER_SUFFIX)).map((name) => name.slice(0, -MARKER_SUFFIX.length));
}

/** The liveness lock directory of writer `id`. */
export function lockName(id: string): string {
  return `${id}${LOCK_SUFFIX}`;
}

/** Whether `name` is a lock directory's name (a writer's, or compaction's): removed as a directory, never as a file. */
export function isLockName(name: string): boolean {
  return name.endsWith(LOCK_SUFFIX);
}

/** What proper-lockfile locks for compaction; its lock directory is DIRECTORY_LOCK_NAME. */
export const DIRECTORY_LOCK_TARGET = '.compaction';
export const DIRECTORY_LOCK_NAME = `${DIRECTORY_LOCK_TARGET}${LOCK_SUFFIX}`;
/** Who holds the directory lock (for the message of whoever finds it taken) and its token. */
export const LOCK_HOLDER_NAME = '.compaction.holder';

export const JOURNAL_NAME = '.compaction-journal.json';

/** Where a journal that is not trusted is set aside. */
export function rejectedJournalName(token: string): string {
  return `${JOURNAL_NAME}.rejected-${token}`;
}

/** An accumulated file written by the compaction `journalId`, installed as `name` by the journal. */
export function installingName(name: string, journalId: string): string {
  return `${name}.${journalId}.next`;
}

/**
 * The temporary under which `name` is written before it is renamed or
 * linked into place: not ending in `.db`, so no collector reads it half-written.
 */
export function temporaryName(name: string, token: string): string {
  return `${name}.${token}.tmp`;
}

/** The file every scrape rewrites, so that writers refresh the values only they can measure. */
export const SCRAPE_TRIGGER_FILE = '.scrape-requested';

/** Whether `name` is one this library (or Python's client) keeps in a multiprocess directory. */
export function isOurs(name: string): boolean {
  return (
    parseMetricsFileName(name) !== undefined ||
    name.endsWith(MARKER_SUFFIX) ||
    name.endsWith(LOCK_SUFFIX) ||
    name.endsWith('.tmp') ||
    name.endsWith('.next') ||
    name.startsWith(DIRECTORY_LOCK_TARGET) || // the journal, its rejected copies, the holder and the directory lock
    name === SCRAPE_TRIGGER_FILE
  );
}
