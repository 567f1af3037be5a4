import type * as ProperLockfile from 'proper-lockfile';

let loaded: typeof ProperLockfile | undefined;

/**
 * proper-lockfile, loaded when the first lock is taken: it brings graceful-fs
 * (which patches process.cwd and process.chdir) and signal-exit (which hooks
 * the process's signals and exit), and a process that writes no directory
 * needs none of them.
 */
export function properLockfile(): typeof ProperLockfile {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('proper-lockfile') as typeof ProperLockfile;
  return loaded;
}
