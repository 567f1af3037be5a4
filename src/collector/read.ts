import * as path from 'node:path';
import { decodeEntryKey, type DecodedKey } from '../format/key.js';
import { walkEntries } from '../format/layout.js';
import { parseDbFileName } from '../format/directory-names.js';
import { readFileImage } from '../storage/file-image.js';

export interface FileEntry extends DecodedKey {
  value: number;
  timestamp: number;
}

/**
 * Every entry of one file as plain objects (for tools and tests; scrapes use
 * IncrementalCollector), checked as a scrape checks them: by the type its
 * name gives, when it is a metrics file name. Throws FileFormatError.
 */
export function readEntryFile(file: string): FileEntry[] {
  const { buf, used } = readFileImage(file);
  const type = parseDbFileName(path.basename(file))?.type;
  const entries: FileEntry[] = [];
  walkEntries(buf, used, (entry) => {
    const key = decodeEntryKey(buf, entry.keyStart, entry.keyEnd, entry.offset, type);
    entries.push({ ...key, value: buf.readDoubleLE(entry.valueOffset), timestamp: buf.readDoubleLE(entry.valueOffset + 8) });
  });
  return entries;
}
