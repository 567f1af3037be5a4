import { decodeEntryKey, type DecodedKey } from '../format/key.js';
import { walkEntries } from '../format/layout.js';
import { readFileImage } from '../storage/file-image.js';

export interface FileEntry extends DecodedKey {
  value: number;
  timestamp: number;
}

/** Every entry of one file as plain objects (for tools and tests; scrapes use IncrementalCollector). Throws FileFormatError. */
export function readEntryFile(path: string): FileEntry[] {
  const { buf, used } = readFileImage(path);
  const entries: FileEntry[] = [];
  walkEntries(buf, used, (entry) => {
    const key = decodeEntryKey(buf, entry.keyStart, entry.keyEnd, entry.offset);
    entries.push({ ...key, value: buf.readDoubleLE(entry.valueOffset), timestamp: buf.readDoubleLE(entry.valueOffset + 8) });
  });
  return entries;
}
