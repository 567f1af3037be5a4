import * as fs from 'node:fs';

/** Whether /proc lists this process's descriptors (Linux). */
export function hasDescriptorList(): boolean {
  return fs.existsSync('/proc/self/fd');
}

/** Open file descriptors (entries of /proc/self/fd), or undefined where they cannot be listed. */
export function countOpenFds(): number | undefined {
  try {
    return fs.readdirSync('/proc/self/fd').length - 1; // the listing's own descriptor, closed again by now
  } catch {
    return undefined; // no /proc, or no descriptor left to list it with
  }
}

/** The soft limit on open descriptors (/proc/self/limits), or undefined where it cannot be read. */
export function readMaxFds(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    if (!line) return undefined;
    return line[1] === 'unlimited' ? Infinity : Number(line[1]);
  } catch {
    return undefined;
  }
}
