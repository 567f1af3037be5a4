// What tests of a multiprocess directory do to it from outside: read it with
// a registry that fails the test on any warning, and age the liveness locks
// of writers they killed.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MultiprocessRegistry } from '../../src/index.js';

/** A registry of `dir` that never compacts by itself (unless told) and fails the test on any warning. */
export function quietRegistry(dir: string, options: { compactThreshold?: number } = {}): MultiprocessRegistry {
  return new MultiprocessRegistry({ dir, compactThreshold: options.compactThreshold ?? 0, logger: { warn: (m) => assert.fail(`unexpected warning: ${m}`) } });
}

/**
 * Pretends `ms` went by for the locks of `ids` (default: every lock in
 * `dir`), as for a killed process, which stops refreshing its lock; a
 * writer that exited has released its lock, and is passed over. Never age a
 * live writer's lock: it would rightly find its lock compromised.
 */
export function ageLocks(dir: string, ms: number, ids?: string[]): void {
  const past = new Date(Date.now() - ms);
  const names = ids ? ids.map((id) => `${id}.lock`) : fs.readdirSync(dir).filter((n) => n.endsWith('.lock'));
  for (const name of names) {
    const lock = path.join(dir, name);
    if (fs.existsSync(lock)) fs.utimesSync(lock, past, past);
  }
}
