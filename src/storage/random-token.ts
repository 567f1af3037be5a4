import type * as Crypto from 'node:crypto';

let crypto: typeof Crypto | undefined;

/**
 * 16 random hex digits: a marker's instance, a journal's or a lock holder's
 * token, a name set aside. node:crypto is loaded at the first one (it costs
 * a fresh process about 5 ms, and a process without a directory needs none).
 */
export function randomToken(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  crypto ??= require('node:crypto') as typeof Crypto;
  return crypto.randomBytes(8).toString('hex');
}
