import { isLabelName, isWellFormed } from './names.js';

/**
 * The payload of an exemplar file's entry (`<prefix>_<id>.exdb`,
 * docs/format.md): the latest exemplar of one series (a counter's sample, a
 * histogram's bucket), written by one process while any other may copy the
 * file. Pure: bytes in, bytes out.
 *
 *   0   uint8 the copy in use: 0 (none yet), 1 or 2      1..7 zero
 *   8   copy 1 (RECORD_BYTES)
 *   8 + RECORD_BYTES   copy 2
 *
 * A copy: float64 value, float64 timestamp (Unix seconds), uint32 byte
 * length L of the labels, uint32 FNV-1a checksum of the 20 bytes before it
 * and of the labels, then the labels: per label, uint16 byte length and
 * UTF-8 bytes of its name, the same of its value.
 *
 * The writer fills the copy not in use, then switches the first byte to
 * it (one byte: a single store). A reader copies the file while the writer
 * may be at work, so it trusts a copy only when its checksum holds: the
 * copy in use, else the other one (the exemplar before). A reader can miss
 * an exemplar written during its read, never show half of one.
 *
 * A series that is withdrawn or zeroed has its exemplar cleared: the
 * first byte back to 0 (clearExemplar), so that the series made again does
 * not show the exemplar of its earlier life (the merge takes the latest).
 */

/** OpenMetrics: an exemplar's label names and values together are at most 128 characters. */
export const MAX_EXEMPLAR_LABEL_CHARS = 128;

/**
 * Room for the labels of one copy, 4 length bytes per label included: the
 * 128 characters OpenMetrics allows, in ASCII (trace and span ids), with up
 * to 32 labels. Labels that take more are refused (checkExemplarLabels): a
 * scrape reads every exemplar file whole, so each byte of a payload is read
 * again at every scrape.
 */
export const EXEMPLAR_LABEL_BYTES = 256;
const RECORD_HEADER = 24;
export const RECORD_BYTES = RECORD_HEADER + EXEMPLAR_LABEL_BYTES;
/** The bytes `labels` take in a copy: per label, two length fields and the UTF-8 of its name and value. */
export function encodedLabelBytes(labels: Record<string, string | number>): number {
  let bytes = 0;
  for (const name in labels) bytes += 4 + Buffer.byteLength(name) + Buffer.byteLength(String(labels[name]));
  return bytes;
}

/** The payload of an exemplar entry: the selector, then two copies. */
export const EXEMPLAR_PAYLOAD_BYTES = 8 + 2 * RECORD_BYTES;

export interface StoredExemplar {
  labels: Record<string, string>;
  value: number;
  /** Unix seconds. */
  timestamp: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a over bytes `start` to `end`, as an int32 holding the checksum's 32
 * bits: the writer's path then never makes a number outside V8's small
 * integers (an unsigned value above 2^30 is a heap number, allocated, and
 * node's writeUInt32LE deoptimises on one).
 */
function fnv1a(buf: Buffer, start: number, end: number, hash = FNV_OFFSET | 0): number {
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i], FNV_PRIME);
  return hash;
}

/** Writes an int32's 32 bits little-endian, byte by byte (see fnv1a()). */
function writeChecksum(buf: Buffer, pos: number, checksum: number): void {
  buf[pos] = checksum;
  buf[pos + 1] = checksum >>> 8;
  buf[pos + 2] = checksum >>> 16;
  buf[pos + 3] = checksum >>> 24;
}

function copyAt(payload: number, copy: 1 | 2): number {
  return payload + 8 + (copy - 1) * RECORD_BYTES;
}

/**
 * Writes an exemplar into the payload at byte `payload` of `buf` and makes
 * it the one in use. `labels` must be checked (label names, at most 128
 * characters: checkExemplarLabels). Returns false, writing nothing, when
 * the labels do not fit (they always do once checked).
 */
export function writeExemplar(buf: Buffer, payload: number, labels: Record<string, string | number>, value: number, timestamp: number): boolean {
  const copy = buf[payload] === 1 ? 2 : 1;
  const at = copyAt(payload, copy);
  const labelsStart = at + RECORD_HEADER;
  const labelsEnd = labelsStart + EXEMPLAR_LABEL_BYTES;
  let pos = labelsStart;
  for (const name in labels) {
    pos = writeText(buf, pos, labelsEnd, name);
    if (pos < 0) return false;
    const value = labels[name];
    pos = writeText(buf, pos, labelsEnd, typeof value === 'string' ? value : String(value));
    if (pos < 0) return false;
  }
  buf.writeDoubleLE(value, at);
  buf.writeDoubleLE(timestamp, at + 8);
  buf.writeUInt32LE(pos - labelsStart, at + 16);
  writeChecksum(buf, at + 20, fnv1a(buf, labelsStart, pos, fnv1a(buf, at, at + 20)));
  buf[payload] = copy;
  return true;
}

/**
 * Takes the payload's exemplar away: the copy in use back to 0, none (one
 * byte, a single store, as a switch is). A reader then trusts neither copy;
 * the next writeExemplar() fills copy 1 and switches to it.
 */
export function clearExemplar(buf: Buffer, payload: number): void {
  buf[payload] = 0;
}

/**
 * Writes `text` as a uint16 byte length and its UTF-8 bytes at `pos`;
 * returns the position after it, or -1 when it would pass `end`. ASCII (trace
 * and span ids) is copied in a loop: a native write per label cost more than
 * the rest of the record.
 */
function writeText(buf: Buffer, pos: number, end: number, text: string): number {
  const start = pos + 2;
  let at = start;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) {
      if (start + Buffer.byteLength(text) > end) return -1;
      at = start + buf.write(text, start, 'utf8');
      break;
    }
    if (at >= end) return -1;
    buf[at++] = code;
  }
  buf[pos] = (at - start) & 0xff;
  buf[pos + 1] = (at - start) >>> 8;
  return at;
}

/** When the payload's exemplar was recorded (Unix seconds), or undefined when it has none a reader can trust. */
export function exemplarTimestamp(buf: Buffer, payload: number): number | undefined {
  const copy = trustedCopy(buf, payload);
  return copy === undefined ? undefined : buf.readDoubleLE(copyAt(payload, copy) + 8);
}

/**
 * The exemplar of the payload at byte `payload`, or undefined when it has
 * none that a reader can trust: none written yet, a copy torn by a write
 * during the read, or bytes that are not an exemplar (a value or timestamp
 * not finite, a label that is not a valid label name or not well-formed
 * text, more than 128 characters): the directory is untrusted input.
 */
export function readExemplar(buf: Buffer, payload: number): StoredExemplar | undefined {
  const copy = trustedCopy(buf, payload);
  if (copy === undefined) return undefined;
  const at = copyAt(payload, copy);
  const value = buf.readDoubleLE(at);
  const timestamp = buf.readDoubleLE(at + 8);
  if (!Number.isFinite(value) || !Number.isFinite(timestamp)) return undefined;
  const end = at + RECORD_HEADER + buf.readUInt32LE(at + 16);
  const labels: Record<string, string> = {};
  let chars = 0;
  for (let pos = at + RECORD_HEADER; pos < end; ) {
    const texts: string[] = [];
    for (let i = 0; i < 2; i++) {
      if (pos + 2 > end) return undefined;
      const length = buf.readUInt16LE(pos);
      if (pos + 2 + length > end) return undefined;
      texts.push(buf.toString('utf8', pos + 2, pos + 2 + length));
      pos += 2 + length;
    }
    const [name, text] = texts;
    if (!isLabelName(name) || !isWellFormed(text) || name in labels) return undefined;
    chars += name.length + text.length;
    labels[name] = text;
  }
  if (chars > MAX_EXEMPLAR_LABEL_CHARS) return undefined;
  return { labels, value, timestamp };
}

/** The copy whose checksum holds: the one in use, else the other; undefined when neither does. */
function trustedCopy(buf: Buffer, payload: number): 1 | 2 | undefined {
  const inUse = buf[payload];
  if (inUse !== 1 && inUse !== 2) return undefined;
  for (const copy of inUse === 1 ? ([1, 2] as const) : ([2, 1] as const)) {
    const at = copyAt(payload, copy);
    const length = buf.readUInt32LE(at + 16);
    if (length > EXEMPLAR_LABEL_BYTES) continue;
    const labelsStart = at + RECORD_HEADER;
    if (fnv1a(buf, labelsStart, labelsStart + length, fnv1a(buf, at, at + 20)) === buf.readInt32LE(at + 20)) return copy;
  }
  return undefined;
}

/**
 * The exemplar of a payload as a payload of its own, its trusted copy as
 * copy 1 (what compaction carries into an accumulated file), with its
 * timestamp; undefined when it has none a reader can trust.
 */
export function carriedPayload(buf: Buffer, payload: number): { payload: Buffer; timestamp: number } | undefined {
  const copy = trustedCopy(buf, payload);
  if (copy === undefined || readExemplar(buf, payload) === undefined) return undefined;
  const out = Buffer.alloc(EXEMPLAR_PAYLOAD_BYTES);
  out[0] = 1;
  const at = copyAt(payload, copy);
  buf.copy(out, 8, at, at + RECORD_BYTES);
  return { payload: out, timestamp: buf.readDoubleLE(at + 8) };
}
