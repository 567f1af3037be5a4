import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileFormatError } from '../errors.js';
import { decodeEntryKey, decodeNativeEntryKey, decodeSummaryEntryKey } from '../format/key.js';
import { HEADER_SIZE, VALUE_BYTES, valueOffsetInEntry, walkEntries } from '../format/layout.js';
import { EXEMPLAR_PAYLOAD_BYTES, readExemplar, type StoredExemplar } from '../format/exemplar-record.js';
import { renderExemplarLabels } from '../collector/exposition.js';
import { parseMetricsFileName, type ParsedFileName } from '../format/directory-names.js';
import { readFileImage } from '../storage/file-image.js';
import type { NativeBucket } from '../format/native-histogram.js';
import type { SummaryEntry } from '../format/summary-window.js';
import { WITHDRAWN } from '../format/merge.js';

export interface InspectedEntry {
  /** Byte offset of the entry's length field. */
  offset: number;
  /** The key exactly as stored (JSON text). */
  key: string;
  family: string;
  sampleName: string;
  labels: Record<string, string>;
  value: number;
  timestamp: number;
  /** In a native histogram file (`histogram_<id>.nhdb`): the bucket the entry counts. */
  bucket?: NativeBucket;
  /** In an exemplar file (`.exdb`): the series' exemplar (value and timestamp above are its), or null when none can be trusted. */
  exemplar?: StoredExemplar | null;
  /** In a summary quantile file (`summary_<id>.nhdb`): the window or bucket of the entry (a bucket's timestamp is its epoch). */
  entry?: SummaryEntry;
}

export interface FileInspection {
  path: string;
  /** Bytes on disk; undefined when the file could not be opened. */
  size?: number;
  /** The header's bytes-in-use field, when the header could be read. */
  used?: number;
  /** What the name says (type, gauge mode, process id); undefined for a name collectors skip. */
  name?: ParsedFileName;
  /** Entries up to the first problem. */
  entries: InspectedEntry[];
  /** What is wrong, if anything; `offset` is the byte where reading stopped. */
  problems: Array<{ reason: string; offset?: number }>;
  /** A likely cause of the problem, when one is recognised. */
  hint?: string;
}

/**
 * Whether `buf[0, used)` reads cleanly as Python 0.16-0.17's layout: the same
 * entries with an 8-byte value slot and no timestamp. The current layout's
 * walk misreads such a file only from its second entry on.
 */
function readsAsOldLayout(buf: Buffer, used: number): boolean {
  let pos = HEADER_SIZE;
  try {
    while (pos < used) {
      if (pos + 4 > used) return false;
      const keyLength = buf.readInt32LE(pos);
      if (keyLength <= 0) return false;
      const valueAt = pos + valueOffsetInEntry(keyLength);
      if (valueAt + 8 > used) return false;
      for (let i = pos + 4 + keyLength; i < valueAt; i++) if (buf[i] !== 0x20) return false;
      decodeEntryKey(buf, pos + 4, pos + 4 + keyLength, pos);
      pos = valueAt + 8;
    }
  } catch {
    return false;
  }
  return pos === used && used > HEADER_SIZE;
}

/**
 * Reads one metrics file (.db, a .nhdb sidecar or an .exdb file) the way a collector does and keeps every entry it could
 * read before the first problem, with the problem's reason and byte offset.
 */
export function inspectFile(file: string): FileInspection {
  const result: FileInspection = { path: file, entries: [], problems: [] };
  let image: { buf: Buffer; used: number } | undefined;
  result.name = parseMetricsFileName(path.basename(file));
  if (!result.name) {
    result.problems.push({
      reason:
        'not a metrics file name (collectors skip it): expected counter_, histogram_, summary_ or gauge_<mode>_, an id without "_", and .db (or histogram_<id>.nhdb, summary_<id>.nhdb, counter_ or histogram_<id>.exdb)',
    });
  }
  try {
    result.size = fs.lstatSync(file).size;
    // As stored: the entries before the damage are what this tool is for.
    const { buf, used } = readFileImage(file, true);
    result.used = used;
    image = { buf, used };
    const exemplars = result.name?.exemplar === true;
    walkEntries(
      buf,
      used,
      (entry) => {
        // With the type the name says: a collector refuses a sample its file type does not hold.
        const key = !result.name?.native
          ? decodeEntryKey(buf, entry.keyStart, entry.keyEnd, entry.offset, result.name?.type)
          : result.name.type === 'summary'
            ? decodeSummaryEntryKey(buf, entry.keyStart, entry.keyEnd, entry.offset)
            : decodeNativeEntryKey(buf, entry.keyStart, entry.keyEnd, entry.offset);
        const stored = buf.toString('utf8', entry.keyStart, entry.keyEnd);
        if (exemplars) {
          const exemplar = readExemplar(buf, entry.valueOffset) ?? null;
          result.entries.push({ offset: entry.offset, key: stored, ...key, value: exemplar?.value ?? NaN, timestamp: exemplar?.timestamp ?? 0, exemplar });
          return;
        }
        result.entries.push({ offset: entry.offset, key: stored, ...key, value: buf.readDoubleLE(entry.valueOffset), timestamp: buf.readDoubleLE(entry.valueOffset + 8) });
      },
      HEADER_SIZE,
      exemplars ? EXEMPLAR_PAYLOAD_BYTES : VALUE_BYTES,
    );
  } catch (err) {
    if (err instanceof FileFormatError) result.problems.push({ reason: err.reason, offset: err.offset });
    else result.problems.push({ reason: (err as Error).message });
    if (image && readsAsOldLayout(image.buf, image.used)) {
      result.hint = "every entry reads cleanly in Python 0.16-0.17's layout (8-byte value slots, no timestamps): upgrade the Python writer to prometheus_client 0.18 or later";
    }
  }
  return result;
}

function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatTimestamp(timestamp: number, entry: SummaryEntry | undefined): string {
  // A summary bucket's timestamp is the epoch (of its window's length) its count belongs to.
  if (entry && entry.kind !== 'window' && timestamp !== WITHDRAWN) return `epoch ${timestamp}`;
  if (timestamp === 0) return '0';
  const date = new Date(timestamp * 1000);
  return Number.isNaN(date.getTime()) ? formatValue(timestamp) : `${timestamp} (${date.toISOString()})`;
}

/** A human-readable report: a summary line, one line per entry, then the problems. */
export function formatInspection(inspection: FileInspection): string {
  const { name } = inspection;
  const kind = name
    ? (name.mode
        ? `${name.type} (mode ${name.mode})`
        : name.native
          ? name.type === 'summary'
            ? 'summary quantile buckets'
            : `${name.type} native buckets`
          : name.exemplar
            ? `${name.type} exemplars`
            : name.type) + `, process ${name.id}`
    : 'unknown kind';
  const sizes =
    inspection.size === undefined ? '' : inspection.used === undefined ? `, ${inspection.size} bytes` : `, ${inspection.used} of ${inspection.size} bytes in use`;
  const lines = [`${inspection.path}: ${kind}${sizes}, ${inspection.entries.length} entries${inspection.problems.length ? ' readable' : ''}`];
  if (inspection.entries.length > 0) {
    const exemplarText = (e: InspectedEntry): string =>
      e.exemplar === undefined ? '' : e.exemplar === null ? '  (no exemplar a reader can trust)' : `  # ${renderExemplarLabels(e.exemplar.labels)}`;
    const rows = inspection.entries.map((e) => [String(e.offset), e.exemplar === null ? '-' : formatValue(e.value), formatTimestamp(e.timestamp, e.entry), e.key + exemplarText(e)]);
    const header = ['offset', 'value', 'timestamp', 'key'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]): string =>
      '  ' + cells.map((cell, i) => (i === cells.length - 1 ? cell : i === 0 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ');
    lines.push(line(header), ...rows.map(line));
  }
  for (const problem of inspection.problems) {
    lines.push(`  error: ${problem.reason}${problem.offset === undefined ? '' : ` (at byte ${problem.offset})`}`);
  }
  if (inspection.hint) lines.push(`  hint: ${inspection.hint}`);
  return lines.join('\n') + '\n';
}
