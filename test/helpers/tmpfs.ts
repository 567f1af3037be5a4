import { spawnSync } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';

/** A new multiprocess file is this big; a disk with less free space cannot take one. */
export const NEW_FILE_SIZE = 65536;

/** Mounts a fresh tmpfs, or skips the test when this machine refuses mounts. */
export function mountTmpfs(t: TestContext, size: string): string | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-multiproc-full-disk-'));
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (result.status === 0) return dir;
  fs.rmdirSync(dir);
  const reason = `${result.error?.message ?? ''}${result.stderr ?? ''}`.trim().split('\n')[0];
  if (/permission denied|not permitted|must be superuser/i.test(reason)) {
    t.skip(`cannot mount a tmpfs here, so a full disk cannot be made: ${reason}`);
    return undefined;
  }
  throw new Error(`mount -t tmpfs on ${dir} failed: ${reason}`);
}

export function unmountTmpfs(dir: string): void {
  const result = spawnSync('umount', [dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`umount ${dir} failed: ${result.error?.message ?? ''}${result.stderr}`);
  fs.rmdirSync(dir);
}

/** Writes a file until the file system has no page left; returns its path. */
export function fillDisk(dir: string): string {
  const filler = path.join(dir, 'filler');
  const chunk = Buffer.alloc(4096, 0xab);
  const fd = fs.openSync(filler, 'w');
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
  const free = fs.statfsSync(dir);
  assert.ok(free.bavail * free.bsize < NEW_FILE_SIZE, `${dir} still has ${free.bavail * free.bsize} bytes free after filling`);
  return filler;
}

