/**
 * Builds the bytes of multiprocess .db files by hand, straight from
 * docs/format.md, so that tests of the reader do not depend on the writer under
 * test. Every builder returns a plain Buffer that the test writes to disk,
 * damaged or not.
 */

const HEADER_SIZE = 8;
const SPACE = 0x20;

export interface RawEntry {
  /** The key: text is encoded as UTF-8, a Buffer is taken as is (for invalid UTF-8). */
  key: string | Buffer;
  value: number;
  timestamp?: number;
  /** Written into the length field instead of the key's real length. */
  lengthField?: number;
}

export interface LayoutOptions {
  /** Bytes of the whole file; default 65,536, or more when the entries need it. */
  fileSize?: number;
  /** Written into the header instead of the real end of the entries. */
  usedField?: number;
}

/** 1..8 spaces: the padding after a key of `keyLength` bytes (never 0, docs/format.md's quirk). */
export function paddingFor(keyLength: number): number {
  return 8 - ((keyLength + 4) % 8);
}

function keyBytes(key: string | Buffer): Buffer {
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
}

/** The key text Python writes for an entry: json.dumps([family, sample, labels, help], sort_keys=True), ASCII-only inputs. */
export function pythonKey(family: string, sampleName: string, labels: Record<string, string>, help: string): string {
  const quote = (text: string): string => {
    if (!/^[\x20-\x7e]*$/.test(text) || /["\\]/.test(text)) throw new Error(`pythonKey handles plain printable ASCII only: ${text}`);
    return `"${text}"`;
  };
  const labelText = Object.keys(labels)
    .sort()
    .map((name) => `${quote(name)}: ${quote(labels[name])}`)
    .join(', ');
  return `[${quote(family)}, ${quote(sampleName)}, {${labelText}}, ${quote(help)}]`;
}

function buildFile(entries: readonly RawEntry[], slotBytes: 8 | 16, options: LayoutOptions): Buffer {
  const encoded = entries.map((entry) => ({ entry, key: keyBytes(entry.key) }));
  const entriesEnd = encoded.reduce((end, { key }) => end + 4 + key.length + paddingFor(key.length) + slotBytes, HEADER_SIZE);
  let fileSize = options.fileSize ?? 65536;
  if (options.fileSize === undefined) while (fileSize < entriesEnd) fileSize *= 2;
  // A deliberately short file still gets all its entries built, then cut.
  const buf = Buffer.alloc(Math.max(fileSize, entriesEnd));
  buf.writeInt32LE(options.usedField ?? entriesEnd, 0);
  let pos = HEADER_SIZE;
  for (const { entry, key } of encoded) {
    buf.writeInt32LE(entry.lengthField ?? key.length, pos);
    key.copy(buf, pos + 4);
    const valueAt = pos + 4 + key.length + paddingFor(key.length);
    buf.fill(SPACE, pos + 4 + key.length, valueAt);
    buf.writeDoubleLE(entry.value, valueAt);
    if (slotBytes === 16) buf.writeDoubleLE(entry.timestamp ?? 0, valueAt + 8);
    pos = valueAt + slotBytes;
  }
  return buf.subarray(0, fileSize);
}

/** A file in the current layout (Python 0.18+): 16-byte value slots, value then timestamp. */
export function currentLayoutFile(entries: readonly RawEntry[], options: LayoutOptions = {}): Buffer {
  return buildFile(entries, 16, options);
}

/** A file in Python 0.16-0.17's layout: 8-byte value slots, no timestamp, same header and padding. */
export function python016LayoutFile(entries: readonly RawEntry[], options: LayoutOptions = {}): Buffer {
  if (entries.some((entry) => entry.timestamp !== undefined)) throw new Error('the 0.16 layout has no timestamps');
  return buildFile(entries, 8, options);
}

/** The offsets where each entry of a current-layout image starts, read from its length fields (trusting them). */
export function entryOffsets(buf: Buffer): number[] {
  const used = buf.readInt32LE(0);
  const offsets: number[] = [];
  for (let pos = HEADER_SIZE; pos < used; ) {
    offsets.push(pos);
    const keyLength = buf.readInt32LE(pos);
    pos += 4 + keyLength + paddingFor(keyLength) + 16;
  }
  return offsets;
}
