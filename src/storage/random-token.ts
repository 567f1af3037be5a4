import type * as Crypto from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

let crypto: typeof Crypto | undefined;

/** The kernel's random source, where there is one: the same entropy node:crypto draws from. */
const RANDOM_DEVICE = '/dev/urandom';

/**
 * 8 random bytes, from /dev/urandom where it can be read, else from
 * node:crypto: the first token of a process is taken with its first metric
 * in a directory, and loading node:crypto costs a fresh process 3 to 5 ms
 * where reading the device costs a tenth of that.
 */
function randomBytes(): Buffer {
  const bytes = Buffer.alloc(8);
  try {
    const fd = openSync(RANDOM_DEVICE, 'r');
    try {
      if (readSync(fd, bytes, 0, bytes.length, null) === bytes.length) return bytes;
    } finally {
      closeSync(fd);
    }
  } catch {
    // No such device (Windows), or not readable here: node:crypto below.
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  crypto ??= require('node:crypto') as typeof Crypto;
  return crypto.randomBytes(bytes.length);
}

/** 16 random hex digits: a marker's instance, a journal's or a lock holder's token, a name set aside. */
export function randomToken(): string {
  return randomBytes().toString('hex');
}
