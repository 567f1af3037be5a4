import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ScriptResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const SRC = path.join(__dirname, '..', '..', 'src', 'index.ts');
const PROM_CLIENT = require.resolve('prom-client');

/**
 * Runs a TypeScript snippet in a fresh Node process, so that configure() and
 * the environment start clean. The snippet sees the library as `lib`,
 * prom-client as `prom`, and may use await.
 */
export function runSnippet(body: string, env: NodeJS.ProcessEnv = {}): ScriptResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-multiproc-snippet-'));
  const file = path.join(dir, 'snippet.ts');
  fs.writeFileSync(file, `const lib = require(${JSON.stringify(SRC)});\nconst prom = require(${JSON.stringify(PROM_CLIENT)});\n(async () => {\n${body}\n})().catch((err) => { console.error(err); process.exit(1); });\n`);
  try {
    const result = spawnSync(process.execPath, ['--import', 'tsx', file], {
      env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: '', prometheus_multiproc_dir: '', ...env },
      encoding: 'utf8',
    });
    return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
