// Programs some tests need besides Node: found on PATH (or Debian's sbin),
// else the test is skipped with one line naming the program and how to
// install it. Under CI=true a missing program fails instead, so CI (whose
// .ci/run installs them all) always runs every test.
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Program = 'promtool' | 'prometheus' | 'nginx' | 'prometheus-pushgateway';

const DEBIAN_PACKAGE: Record<Program, string> = {
  promtool: 'prometheus',
  prometheus: 'prometheus',
  nginx: 'nginx',
  'prometheus-pushgateway': 'prometheus-pushgateway',
};

/** The full path of `program`, or undefined when this machine lacks it. */
export function findProgram(program: Program): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/sbin'];
  return dirs.map((dir) => path.join(dir, program)).find((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

export function installHint(program: Program): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${DEBIAN_PACKAGE[program]} (.ci/run does)`;
}

/**
 * For the `skip` option of a test or suite that needs these programs:
 * false when all are here; otherwise the skip message, or, under CI, a
 * thrown error that fails the file.
 */
export function skipUnlessInstalled(...programs: Program[]): string | false {
  const missing = programs.filter((program) => findProgram(program) === undefined);
  if (missing.length === 0) return false;
  const message = missing.map((program) => `needs ${program}, which is not installed: ${installHint(program)}`).join('; ');
  if (process.env.CI) throw new Error(`CI is set but ${message}`);
  return message;
}
