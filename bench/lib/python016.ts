// Python's collector before 0.18 reads an older layout (8-byte value slots,
// no timestamps), and Debian ships prometheus_client 0.16. To time Python's
// collector here anyway, the benchmark copies the writers' directory into
// that layout: same keys, same values, same files, only the timestamp slots
// left out. 0.16's collector does what the current one does per scrape
// (reads every file, decodes each distinct key once, unpacks every value).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { walkEntries } from '../../src/format/layout.js';
import { readFileImage } from '../../src/storage/file-image.js';
import { python016LayoutFile, type RawEntry } from '../../test/helpers/db-files.js';

/** Copies every .db file of `from` into `to` in Python 0.16's layout; returns the number of files. */
export function copyAsPython016(from: string, to: string): number {
  fs.mkdirSync(to, { recursive: true });
  let files = 0;
  for (const name of fs.readdirSync(from)) {
    if (!name.endsWith('.db')) continue;
    const { buf, used } = readFileImage(path.join(from, name));
    const entries: RawEntry[] = [];
    walkEntries(buf, used, (entry) => {
      entries.push({ key: Buffer.from(buf.subarray(entry.keyStart, entry.keyEnd)), value: buf.readDoubleLE(entry.valueOffset) });
    });
    fs.writeFileSync(path.join(to, name), python016LayoutFile(entries));
    files++;
  }
  return files;
}
