import * as path from 'node:path';
import { decodeEntryKey, type DecodedKey } from '../../src/format/key.js';
import { walkEntries } from '../../src/format/layout.js';
import { parseMetricsFileName } from '../../src/format/directory-names.js';
import { readFileImage } from '../../src/storage/file-image.js';

export interface FileEntry extends DecodedKey {
  value: number;
  timestamp: number;
}

/**
 * Every entry of one file as plain objects (scrapes use the library's
 * IncrementalCollector), checked as a scrape checks them: by the type its
 * name gives, when it is a metrics file name. Throws FileFormatError.
 */
export function readEntryFile(file: string): FileEntry[] {
  const { buf, used } = readFileImage(file);
  const type = parseMetricsFileName(path.basename(file))?.type;
  const entries: FileEntry[] = [];
  walkEntries(buf, used, (entry) => {
    const key = decodeEntryKey(buf, entry.keyStart, entry.keyEnd, entry.offset, type);
    entries.push({ ...key, value: buf.readDoubleLE(entry.valueOffset), timestamp: buf.readDoubleLE(entry.valueOffset + 8) });
  });
  return entries;
}
